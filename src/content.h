/* A container's content as the links watch compares it (links.py). */
#pragma once

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The content of `value` (a list, dict, set, bytearray, deque or tuple, or a
 * subclass): its items' identities in order (a set's sorted), and the content
 * of the containers among them, `depth` levels down, as bytes whose equality
 * is the content's (each level tagged and sized). None when the containers
 * hold more than `budget` items in all (to be taken as changed); NULL with an
 * exception set when iterating raised. Called with the GIL held. */
PyObject *fc_content(PyObject *value, int depth, Py_ssize_t budget);

#ifdef __cplusplus
}
#endif
