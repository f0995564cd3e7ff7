/* Whose code is reading: shared by the core's read hooks (module_reads.c,
 * doc_reads.c), which leave out reads by some modules' code. */
#pragma once

#include <Python.h>

/* The module named by `globals` (the running frame's: PyEval_GetGlobals),
 * borrowed, or NULL. */
static inline PyObject *fc_caller_module(PyObject *globals) {
  PyObject *name = globals ? PyDict_GetItemString(globals, "__name__") : NULL; /* borrowed */
  return name != NULL && PyUnicode_Check(name) ? name : NULL;
}

/* Is the module `name` one of `prefixes` (a tuple of str) or inside one? */
static inline int fc_in_modules(PyObject *name, PyObject *prefixes) {
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(prefixes); i++) {
    PyObject *prefix = PyTuple_GET_ITEM(prefixes, i);
    Py_ssize_t n = PyUnicode_GET_LENGTH(prefix);
    if (PyUnicode_Tailmatch(name, prefix, 0, n, -1) == 1 &&
        (PyUnicode_GET_LENGTH(name) == n || PyUnicode_READ_CHAR(name, n) == '.'))
      return 1;
  }
  return 0;
}
