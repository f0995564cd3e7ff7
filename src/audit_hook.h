/* The audit events collection's inputs are read from (see audit_hook.c). */
#pragma once

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Adds the filtering audit hook once per process and makes `callback`
 * (called as callback(event, args)) the receiver of the events it passes.
 * 1 when the hook is in place, 0 when the interpreter refused it. Called
 * with the GIL held. */
int fc_audit_install(PyObject *callback);

#ifdef __cplusplus
}
#endif
