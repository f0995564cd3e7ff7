/* Namespace version tags for the links watch (links.py): the learner asks at
 * every window's close whether any of the project's module namespaces (and
 * their classes') was written during the window, thousands of namespaces
 * times hundreds of windows; comparing their bindings in Python each time
 * would cost seconds, reading PEP 509's tag costs a load each. */
#include "dict_versions.h"

#include <stdint.h>
#include <string.h>

#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030E0000
#define FC_HAVE_VERSION_TAG 1
#endif

#ifdef FC_HAVE_VERSION_TAG
/* The tag is deprecated from 3.12 (still kept and bumped on every write
 * through 3.13: dict watchers share its low bits, which stay as they are). */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
static uint64_t tag_of(PyObject *o) {
  PyObject *d = NULL;
  if (PyModule_Check(o)) {
    d = PyModule_GetDict(o); /* borrowed */
  } else if (PyType_Check(o)) {
    PyTypeObject *t = (PyTypeObject *)o;
    d = (t->tp_flags & Py_TPFLAGS_HEAPTYPE) ? t->tp_dict : NULL;
  } else if (PyDict_Check(o)) {
    d = o;
  }
  return d != NULL && PyDict_Check(d) ? (uint64_t)((PyDictObject *)d)->ma_version_tag : 0;
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif

PyObject *fc_dict_versions(PyObject *objects) {
  if (!PyList_Check(objects)) {
    PyErr_SetString(PyExc_TypeError, "dict_versions: a list is expected");
    return NULL;
  }
#ifdef FC_HAVE_VERSION_TAG
  const Py_ssize_t n = PyList_GET_SIZE(objects);
  PyObject *out = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(uint64_t));
  if (out == NULL) return NULL;
  char *buf = PyBytes_AS_STRING(out);
  for (Py_ssize_t i = 0; i < n; ++i) {
    const uint64_t tag = tag_of(PyList_GET_ITEM(objects, i));
    memcpy(buf + i * (Py_ssize_t)sizeof tag, &tag, sizeof tag);
  }
  return out;
#else
  Py_RETURN_NONE;
#endif
}
