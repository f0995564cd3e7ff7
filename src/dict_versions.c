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

/* A container's tag: its size and the identities of its first 64 items
 * (all of a small one, as links._shallow reads them), mixed (FNV-1a). */
static uint64_t mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= 1099511628211ULL;
  }
  return h;
}

static uint64_t container_tag(PyObject *o, PyObject *deque) {
  uint64_t h = 14695981039346656037ULL;
  if (PyList_Check(o)) {
    const Py_ssize_t n = PyList_GET_SIZE(o);
    h = mix(h, (uint64_t)n);
    for (Py_ssize_t i = 0; i < n && i < 64; ++i) h = mix(h, (uint64_t)(uintptr_t)PyList_GET_ITEM(o, i));
    return h | 1;
  }
  if (PyByteArray_Check(o)) {
    const Py_ssize_t n = PyByteArray_GET_SIZE(o);
    const char *b = PyByteArray_AS_STRING(o);
    h = mix(h, (uint64_t)n);
    for (Py_ssize_t i = 0; i < n && i < 64; ++i) h = mix(h, (uint64_t)(unsigned char)b[i]);
    return h | 1;
  }
  /* A set or a deque: sized and iterated by its builtin base type's own
   * functions, so no code of a subclass runs (peek.py). */
  const int is_set = PyAnySet_Check(o);
  const Py_ssize_t n = is_set ? PySet_GET_SIZE(o) : Py_SIZE(o);
  h = mix(h, (uint64_t)n);
  PyObject *it = is_set ? PySet_Type.tp_iter(o) : ((PyTypeObject *)deque)->tp_iter(o);
  if (it == NULL) {
    PyErr_Clear();
    return h | 1;
  }
  PyObject *item;
  for (int i = 0; i < 64 && (item = PyIter_Next(it)) != NULL; ++i) {
    h = mix(h, (uint64_t)(uintptr_t)item);
    Py_DECREF(item);
  }
  Py_DECREF(it);
  PyErr_Clear();
  return h | 1;
}

static int is_watched_container(PyObject *o, PyObject *deque) {
  return PyList_Check(o) || PyAnySet_Check(o) || PyByteArray_Check(o) ||
         (deque != NULL && PyObject_TypeCheck(o, (PyTypeObject *)deque));
}

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
  PyObject *collections = PyImport_ImportModule("collections");
  PyObject *deque = collections != NULL ? PyObject_GetAttrString(collections, "deque") : NULL;
  Py_XDECREF(collections);
  PyErr_Clear();
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject *o = PyList_GET_ITEM(objects, i);
    const uint64_t tag = is_watched_container(o, deque) ? container_tag(o, deque) : tag_of(o);
    memcpy(buf + i * (Py_ssize_t)sizeof tag, &tag, sizeof tag);
  }
  Py_XDECREF(deque);
  return out;
#else
  Py_RETURN_NONE;
#endif
}
