/* A container's content as the links watch compares it (links.py): the
 * learner compares the containers test modules hold at every window's close,
 * tens of thousands of times in a large suite, so this is done here rather
 * than by building tuples in Python. Same reading as links._content_py:
 * the items (a mapping's keys and values) as the builtin base type stores
 * them (peek.py), identities only, nested
 * containers (list, dict, set, tuple, deque) `depth` levels down, a budget of
 * items over all levels. */
#include "content.h"

#include <stdint.h>
#include <string.h>

typedef struct {
  char *buf;
  size_t len, cap;
  Py_ssize_t budget;
} Writer;

enum { kDone = 0, kOverBudget = 1, kError = -1 };

static PyObject *deque_type; /* collections.deque, kept once looked up */

static int put(Writer *w, const void *data, size_t n) {
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n) cap *= 2;
    char *grown = PyMem_Realloc(w->buf, cap);
    if (grown == NULL) {
      PyErr_NoMemory();
      return kError;
    }
    w->buf = grown;
    w->cap = cap;
  }
  memcpy(w->buf + w->len, data, n);
  w->len += n;
  return kDone;
}

/* A level starts with its kind and its item count: the bytes of two
 * different structures never compare equal. */
static int put_head(Writer *w, char kind, Py_ssize_t n) {
  return put(w, &kind, 1) || put(w, &n, sizeof n) ? kError : kDone;
}

static int put_ids(Writer *w, PyObject *list) {
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); ++i) {
    uintptr_t id = (uintptr_t)PyList_GET_ITEM(list, i);
    if (put(w, &id, sizeof id)) return kError;
  }
  return kDone;
}

static int nested(PyObject *v) {
  return PyList_Check(v) || PyDict_Check(v) || PyAnySet_Check(v) || PyTuple_Check(v) ||
         (deque_type != NULL && PyObject_TypeCheck(v, (PyTypeObject *)deque_type));
}

static int compare_ids(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return (x > y) - (x < y);
}

/* A set: its size and its items' identities, sorted (no order to compare). */
static int write_set(Writer *w, PyObject *items) {
  Py_ssize_t n = PyList_GET_SIZE(items);
  uintptr_t *ids = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *ids);
  if (ids == NULL) {
    PyErr_NoMemory();
    return kError;
  }
  for (Py_ssize_t i = 0; i < n; ++i) ids[i] = (uintptr_t)PyList_GET_ITEM(items, i);
  qsort(ids, (size_t)n, sizeof *ids, compare_ids);
  int rc = put_head(w, 's', n) || put(w, ids, (size_t)n * sizeof *ids) ? kError : kDone;
  PyMem_Free(ids);
  return rc;
}

/* The items as the container's builtin base type stores them, a mapping's
 * keys and values interleaved; a new list, so no iteration below can change
 * what is being read. Read with the base type's own functions: no code of a
 * subclass runs (its `__iter__`, `__len__` or `items` may warn, load or
 * change state: peek.py). Storage order is insertion order, except an
 * OrderedDict moved with move_to_end (its own order is not read: walking it
 * hashes keys). `pairs`: the item count the budget is charged. */
static PyObject *flat_items(PyObject *value, Py_ssize_t *pairs) {
  if (PyDict_Check(value)) {
    PyObject *flat = PyList_New(2 * PyDict_GET_SIZE(value));
    PyObject *k, *v;
    Py_ssize_t pos = 0, i = 0;
    while (flat != NULL && PyDict_Next(value, &pos, &k, &v)) {
      Py_INCREF(k);
      Py_INCREF(v);
      PyList_SET_ITEM(flat, i++, k);
      PyList_SET_ITEM(flat, i++, v);
    }
    *pairs = i / 2;
    return flat;
  }
  PyObject *items = NULL;
  if (PyList_Check(value)) {
    items = PyList_GetSlice(value, 0, PyList_GET_SIZE(value));
  } else if (PyTuple_Check(value)) {
    items = PyList_New(PyTuple_GET_SIZE(value));
    for (Py_ssize_t i = 0; items != NULL && i < PyTuple_GET_SIZE(value); ++i) {
      Py_INCREF(PyTuple_GET_ITEM(value, i));
      PyList_SET_ITEM(items, i, PyTuple_GET_ITEM(value, i));
    }
  } else {
    getiterfunc iter = PyAnySet_Check(value) ? PySet_Type.tp_iter
                       : PyObject_TypeCheck(value, (PyTypeObject *)deque_type) ? ((PyTypeObject *)deque_type)->tp_iter
                                                                               : NULL;
    PyObject *it = iter != NULL ? iter(value) : NULL;
    if (iter == NULL) PyErr_SetString(PyExc_TypeError, "content: not a builtin container");
    items = it != NULL ? PySequence_List(it) : NULL;
    Py_XDECREF(it);
  }
  if (items != NULL) *pairs = PyList_GET_SIZE(items);
  return items;
}

static int write_content(Writer *w, PyObject *value, int depth) {
  if (PyByteArray_Check(value))
    return put_head(w, 'b', PyByteArray_GET_SIZE(value)) ||
                   put(w, PyByteArray_AS_STRING(value), (size_t)PyByteArray_GET_SIZE(value))
               ? kError
               : kDone;
  Py_ssize_t n = 0;
  PyObject *flat = flat_items(value, &n);
  if (flat == NULL) return kError;
  int rc = kDone;
  w->budget -= n;
  if (w->budget < 0) {
    rc = kOverBudget;
  } else if (PyAnySet_Check(value)) {
    rc = write_set(w, flat);
  } else if (put_head(w, PyDict_Check(value) ? 'd' : 'l', n) || put_ids(w, flat)) {
    rc = kError;
  } else {
    for (Py_ssize_t i = 0; rc == kDone && depth > 0 && i < PyList_GET_SIZE(flat); ++i)
      if (nested(PyList_GET_ITEM(flat, i))) rc = write_content(w, PyList_GET_ITEM(flat, i), depth - 1);
  }
  Py_DECREF(flat);
  return rc;
}

PyObject *fc_content(PyObject *value, int depth, Py_ssize_t budget) {
  if (deque_type == NULL) {
    PyObject *collections = PyImport_ImportModule("collections");
    deque_type = collections ? PyObject_GetAttrString(collections, "deque") : NULL;
    Py_XDECREF(collections);
    if (deque_type == NULL) return NULL;
  }
  Writer w = {NULL, 0, 0, budget};
  int rc = write_content(&w, value, depth);
  PyObject *out = NULL;
  if (rc == kDone)
    out = PyBytes_FromStringAndSize(w.buf ? w.buf : "", (Py_ssize_t)w.len);
  else if (rc == kOverBudget) {
    Py_INCREF(Py_None);
    out = Py_None;
  }
  PyMem_Free(w.buf);
  return out;
}
