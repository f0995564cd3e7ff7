/* An audit hook that filters in C.
 *
 * Collection raises a couple of million audit events on a large suite
 * (`builtins.id`, `exec`, `sys._getframe`, `object.__getattr__` for every
 * attribute of a function pytest looks at). A hook written in Python is a
 * Python call for each; this one compares the event's name in C and calls
 * the Python receiver only for the few events the learner records: files
 * opened, directories made and listed, files renamed or copied, reads of a
 * function's `__code__`, and programs started (their output is no input a
 * record can key). Audit hooks cannot be removed, so it is added once
 * per process; the receiver decides whether anyone is listening.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "audit_hook.h"

static PyObject *receiver = NULL; /* strong reference, for the process */
static int added = 0;

static int wanted(const char *event, PyObject *args) {
  switch (event[0]) {
    case 'o':
      if (strcmp(event, "open") == 0 || strcmp(event, "os.mkdir") == 0 || strcmp(event, "os.rename") == 0 ||
          strcmp(event, "os.listdir") == 0 || strcmp(event, "os.scandir") == 0 ||
          strcmp(event, "os.system") == 0 || strcmp(event, "os.exec") == 0 || strcmp(event, "os.posix_spawn") == 0 ||
          strcmp(event, "os.fork") == 0 || strcmp(event, "os.forkpty") == 0 || strcmp(event, "os.spawn") == 0)
        return 1;
      if (strcmp(event, "object.__getattr__") == 0) {
        /* (object, name): only `__code__` reads matter. */
        if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) < 2) return 0;
        PyObject *name = PyTuple_GET_ITEM(args, 1);
        return PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "__code__") == 0;
      }
      return 0;
    case 's':
      return strcmp(event, "shutil.copyfile") == 0 || strcmp(event, "shutil.move") == 0 ||
             strcmp(event, "subprocess.Popen") == 0;
    default:
      return 0;
  }
}

static int hook(const char *event, PyObject *args, void *data) {
  (void)data;
  if (receiver == NULL || !wanted(event, args)) return 0;
  PyObject *result = PyObject_CallFunction(receiver, "sO", event, args);
  if (result == NULL) {
    /* Recording is an optimisation: never abort the audited operation. */
    PyErr_Clear();
    return 0;
  }
  Py_DECREF(result);
  return 0;
}

int fc_audit_install(PyObject *callback) {
  Py_INCREF(callback);
  Py_XSETREF(receiver, callback);
  if (!added) {
    if (PySys_AddAuditHook(hook, NULL) < 0) {
      PyErr_Clear();
      return 0;
    }
    added = 1;
  }
  return 1;
}
