/* Which functions' docstrings collection reads (surface.h: a docstring is
 * part of a surface only where it was read).
 *
 * A function's `__doc__` is read through the function type's tp_getattro:
 * `f.__doc__`, getattr, inspect.getdoc, doctest's finder, C code calling
 * PyObject_GetAttr (property, classmethod and staticmethod copying it). While
 * recording, that slot is replaced by a hook that notes the function's code
 * object, and those of the functions it wraps (`__wrapped__`), whose
 * docstring functools.update_wrapper copied into it. That copy is the one
 * read not noted when its destination is itself a function (whose reads are
 * then noted with the `__wrapped__` chain); a copy into anything else (a
 * callable object, lru_cache's wrapper, cached_property) counts as a read.
 * Not seen: object.__getattribute__(f, "__doc__"), the member descriptor
 * called directly, C code reading the struct field.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "callers.h"
#include "doc_reads.h"

static getattrofunc original = NULL; /* kept once set: types created meanwhile call the hook */
static PyObject *codes = NULL;       /* while recording: the set of code objects whose docstring was read */
static PyObject *ignored = NULL;     /* a tuple of module names: reads by their code are not noted */
static PyObject *doc_name = NULL;    /* "__doc__", interned */
static PyObject *wrapped_name = NULL; /* "__wrapped__", interned */

/* functools.update_wrapper copying a docstring into a function. */
static int copied_into_a_function(void) {
#if PY_VERSION_HEX >= 0x030D0000
  PyObject *locals = PyEval_GetFrameLocals(); /* new reference */
#else
  PyObject *locals = PyEval_GetLocals(); /* borrowed */
  Py_XINCREF(locals);
#endif
  if (locals == NULL) {
    PyErr_Clear();
    return 0;
  }
  PyObject *wrapper = PyMapping_Check(locals) ? PyMapping_GetItemString(locals, "wrapper") : NULL;
  if (wrapper == NULL) PyErr_Clear();
  int out = wrapper != NULL && PyFunction_Check(wrapper);
  Py_XDECREF(wrapper);
  Py_DECREF(locals);
  return out;
}

/* Notes `f`'s code and that of every function down its `__wrapped__` chain. */
static void note(PyObject *f) {
  Py_INCREF(f);
  for (int depth = 0; f != NULL && depth < 64; depth++) {
    if (PyFunction_Check(f) && PySet_Add(codes, PyFunction_GET_CODE(f)) < 0) PyErr_Clear();
    PyObject *next = PyFunction_Check(f) ? original(f, wrapped_name) : NULL;
    Py_DECREF(f);
    f = next;
  }
  Py_XDECREF(f);
  PyErr_Clear();
}

static PyObject *hook(PyObject *self, PyObject *name) {
  /* Attribute names are nearly always interned: one pointer comparison. */
  if (codes != NULL && PyUnicode_Check(name) &&
      (name == doc_name || (!PyUnicode_CHECK_INTERNED(name) && PyUnicode_Compare(name, doc_name) == 0))) {
    PyObject *module = fc_caller_module(PyEval_GetGlobals());
    int skip = module != NULL && fc_in_modules(module, ignored);
    if (!skip && module != NULL && PyUnicode_CompareWithASCIIString(module, "functools") == 0)
      skip = copied_into_a_function();
    if (!skip) note(self);
  }
  return original(self, name);
}

int fc_doc_reads_start(PyObject *ignore) {
  if (codes != NULL || !PyTuple_Check(ignore)) return 0; /* recording already */
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(ignore); i++)
    if (!PyUnicode_Check(PyTuple_GET_ITEM(ignore, i))) return 0;
  if (original == NULL) original = PyFunction_Type.tp_getattro;
  if (PyFunction_Type.tp_getattro != original && PyFunction_Type.tp_getattro != hook) return 0; /* someone else's */
  if (doc_name == NULL) doc_name = PyUnicode_InternFromString("__doc__");
  if (wrapped_name == NULL) wrapped_name = PyUnicode_InternFromString("__wrapped__");
  if (doc_name == NULL || wrapped_name == NULL) {
    PyErr_Clear();
    return 0;
  }
  codes = PySet_New(NULL);
  if (codes == NULL) {
    PyErr_Clear();
    return 0;
  }
  Py_INCREF(ignore);
  Py_XSETREF(ignored, ignore);
  PyFunction_Type.tp_getattro = hook;
  PyType_Modified(&PyFunction_Type);
  return 1;
}

PyObject *fc_doc_reads_stop(void) {
  PyObject *out = codes;
  codes = NULL;
  Py_CLEAR(ignored);
  int displaced = PyFunction_Type.tp_getattro != hook;
  if (!displaced) {
    PyFunction_Type.tp_getattro = original;
    PyType_Modified(&PyFunction_Type);
  }
  if (out == NULL || displaced) {
    Py_XDECREF(out);
    Py_RETURN_NONE;
  }
  PyObject *list = PySequence_List(out);
  Py_DECREF(out);
  return list;
}
