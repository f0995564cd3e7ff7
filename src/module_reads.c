/* Which names collection reads from module namespaces (bindings.h).
 *
 * Every attribute read on a module object that does not go through a
 * specialized bytecode goes through the module type's tp_getattro:
 * getattr and hasattr with any name (computed ones too), `from m import x`,
 * star imports (which read `__all__` or `__dict__`), vars(m) and dir(m)
 * (`__dict__`), C extensions (PyObject_GetAttr), and the first run of
 * each `m.x` in Python code (its names are in co_names anyway). While
 * recording, the slot of the module type is replaced by a hook that notes
 * (module, name) and calls the original. Module types created meanwhile
 * inherit the hook, so it stays callable after the slot is restored.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "module_reads.h"

static getattrofunc original = NULL; /* kept once set: types created meanwhile call the hook */
static PyObject *reads = NULL;       /* while recording: {module: set of names} */
static PyObject *ignored = NULL;     /* a tuple of module names: reads by their code are not noted */
static PyObject *last_globals = NULL; /* the globals last checked (borrowed, compared only) */
static int last_ignored = 0;

static int ignored_name(PyObject *name) {
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(ignored); i++) {
    PyObject *prefix = PyTuple_GET_ITEM(ignored, i);
    Py_ssize_t n = PyUnicode_GET_LENGTH(prefix);
    if (PyUnicode_Tailmatch(name, prefix, 0, n, -1) == 1 &&
        (PyUnicode_GET_LENGTH(name) == n || PyUnicode_READ_CHAR(name, n) == '.'))
      return 1;
  }
  return 0;
}

/* Is the calling Python frame's code one whose reads are not noted (the
 * plugin's own, which compares namespaces; the import system's, which
 * executes a module in its namespace)? */
static int ignored_caller(void) {
  PyObject *globals = PyEval_GetGlobals(); /* borrowed */
  if (globals == NULL || ignored == NULL) return 0;
  if (globals == last_globals) return last_ignored;
  PyObject *name = PyDict_GetItemString(globals, "__name__"); /* borrowed */
  last_globals = globals;
  last_ignored = name != NULL && PyUnicode_Check(name) && ignored_name(name);
  return last_ignored;
}

static void note(PyObject *module, PyObject *name) {
  if (!PyUnicode_Check(name)) return;
  PyObject *names = PyDict_GetItemWithError(reads, module); /* borrowed */
  if (names == NULL) {
    if (PyErr_Occurred()) {
      PyErr_Clear();
      return;
    }
    names = PySet_New(NULL);
    if (names == NULL) {
      PyErr_Clear();
      return;
    }
    int failed = PyDict_SetItem(reads, module, names) < 0;
    Py_DECREF(names); /* the dict holds it */
    if (failed) {
      PyErr_Clear();
      return;
    }
  }
  if (PySet_Add(names, name) < 0) PyErr_Clear();
}

static PyObject *hook(PyObject *self, PyObject *name) {
  if (reads != NULL && !ignored_caller()) note(self, name);
  return original(self, name);
}

int fc_module_reads_start(PyObject *ignore) {
  if (reads != NULL || !PyTuple_Check(ignore)) return 0; /* recording already */
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(ignore); i++)
    if (!PyUnicode_Check(PyTuple_GET_ITEM(ignore, i))) return 0;
  if (original == NULL) original = PyModule_Type.tp_getattro;
  if (PyModule_Type.tp_getattro != original && PyModule_Type.tp_getattro != hook) return 0; /* someone else's */
  reads = PyDict_New();
  if (reads == NULL) {
    PyErr_Clear();
    return 0;
  }
  Py_INCREF(ignore);
  Py_XSETREF(ignored, ignore);
  last_globals = NULL;
  PyModule_Type.tp_getattro = hook;
  PyType_Modified(&PyModule_Type);
  return 1;
}

PyObject *fc_module_reads_stop(void) {
  PyObject *out = reads;
  reads = NULL;
  Py_CLEAR(ignored);
  last_globals = NULL;
  int displaced = PyModule_Type.tp_getattro != hook;
  if (!displaced) {
    PyModule_Type.tp_getattro = original;
    PyType_Modified(&PyModule_Type);
  }
  if (out == NULL) Py_RETURN_NONE;
  if (displaced) {
    Py_DECREF(out);
    Py_RETURN_NONE;
  }
  return out;
}
