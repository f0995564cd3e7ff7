/* Which code ran during collection, on Python 3.9-3.11 (see trace_hook.c). */
#pragma once

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Installs the hook; 0 when it cannot (another hook is installed, or this
 * Python has sys.monitoring instead). Called with the GIL held. */
int fc_trace_start(void);
/* Someone replaced the hook while it was installed. */
int fc_trace_displaced(void);
/* Removes the hook; a new list of every code object seen since the start. */
PyObject *fc_trace_stop(void);

#ifdef __cplusplus
}
#endif
