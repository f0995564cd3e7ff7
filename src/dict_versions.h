/* Which namespaces changed since the last look (links.py's watch). */
#pragma once

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version tag (PEP 509) of the namespace of each object of the list `objects`
 * (a module's __dict__, a class's own dict, or a dict itself), as bytes of
 * one uint64 per object: a tag changes whenever its dict is written (CPython
 * 3.9-3.13), so equal bytes mean no namespace of the list was written
 * between two calls. 0 for an object without one. None where the running
 * Python has no such tag. NULL with an exception set when `objects` is not a
 * list. Called with the GIL held. */
PyObject *fc_dict_versions(PyObject *objects);

#ifdef __cplusplus
}
#endif
