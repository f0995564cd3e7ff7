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

#include "callers.h"
#include "module_reads.h"

static getattrofunc original = NULL; /* kept once set: types created meanwhile call the hook */
static PyObject *reads = NULL;       /* while recording: {module: set of names} */
static PyObject *ignored = NULL;     /* a tuple of module names: reads by their code are not noted */
static PyObject *last_globals = NULL; /* the globals last checked (borrowed, compared only) */
static int last_ignored = 0;

/* Is the calling Python frame's code one whose reads are not noted (the
 * plugin's own, which compares namespaces; the import system's, which
 * executes a module in its namespace)? */
static int ignored_caller(void) {
  PyObject *globals = PyEval_GetGlobals(); /* borrowed */
  if (globals == NULL || ignored == NULL) return 0;
  if (globals == last_globals) return last_ignored;
  PyObject *name = fc_caller_module(globals);
  last_globals = globals;
  last_ignored = name != NULL && fc_in_modules(name, ignored);
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

/* The names each code object looks up in its own globals (see trace.py,
 * _OWN): `table` is 256 bytes, one per opcode: 0 for none of them, 1 + the
 * shift of the name's index in its argument for an own-globals lookup, 255
 * for EXTENDED_ARG. Returns {co_filename: set of names}. */
PyObject *fc_own_reads(PyObject *codes, PyObject *table) {
  if (!PyList_Check(codes) || !PyBytes_Check(table) || PyBytes_GET_SIZE(table) != 256) {
    PyErr_SetString(PyExc_TypeError, "own_reads(list of code objects, 256-byte table)");
    return NULL;
  }
  const unsigned char *t = (const unsigned char *)PyBytes_AS_STRING(table);
  PyObject *out = PyDict_New();
  if (out == NULL) return NULL;
  for (Py_ssize_t k = 0; k < PyList_GET_SIZE(codes); k++) {
    PyObject *code = PyList_GET_ITEM(codes, k);
    if (!PyCode_Check(code)) continue;
    PyObject *names = PyObject_GetAttrString(code, "co_names");
    PyObject *bytes = names && PyTuple_GET_SIZE(names) ? PyObject_GetAttrString(code, "co_code") : NULL;
    PyObject *file = bytes ? PyObject_GetAttrString(code, "co_filename") : NULL;
    PyObject *seen = NULL;
    int failed = PyErr_Occurred() != NULL;
    if (file != NULL && PyBytes_Check(bytes)) {
      const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(bytes);
      Py_ssize_t n = PyBytes_GET_SIZE(bytes), count = PyTuple_GET_SIZE(names);
      unsigned long ext = 0;
      for (Py_ssize_t i = 0; i + 1 < n && !failed; i += 2) {
        unsigned char kind = t[b[i]];
        if (kind == 0 || kind == 255) {
          ext = kind == 255 ? (ext | b[i + 1]) << 8 : 0;
          continue;
        }
        unsigned long index = (ext | b[i + 1]) >> (kind - 1);
        ext = 0;
        if ((Py_ssize_t)index >= count) continue;
        if (seen == NULL) {
          seen = PyDict_GetItemWithError(out, file); /* borrowed */
          if (seen == NULL) {
            seen = PySet_New(NULL);
            failed = seen == NULL || PyDict_SetItem(out, file, seen) < 0;
            Py_XDECREF(seen); /* the dict holds it */
            if (failed) break;
          }
        }
        failed = PySet_Add(seen, PyTuple_GET_ITEM(names, (Py_ssize_t)index)) < 0;
      }
    }
    Py_XDECREF(names);
    Py_XDECREF(bytes);
    Py_XDECREF(file);
    if (failed || PyErr_Occurred()) {
      Py_DECREF(out);
      return NULL;
    }
  }
  return out;
}
