/* Which namespaces changed since the last look (links.py's watch). */
#pragma once

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A tag of each object of the list `objects`, as bytes of one uint64 per
 * object: for a module, a class or a dict, the version tag (PEP 509) of its
 * namespace (a module's __dict__, a class's own dict, the dict itself),
 * which changes whenever the dict is written (CPython 3.9-3.13); for a list,
 * set, deque or bytearray, its size and the identities of its first 64 items
 * mixed. Equal bytes: no namespace of the list was written, no container's
 * size or first items changed between two calls. 0 for an object without a
 * tag. None where the running Python has no version tags. NULL with an
 * exception set when `objects` is not a list. Called with the GIL held. */
PyObject *fc_dict_versions(PyObject *objects);

#ifdef __cplusplus
}
#endif
