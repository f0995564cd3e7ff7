/* Which code ran during collection, on Python 3.9-3.11.
 *
 * A frame-evaluation hook (PEP 523) sees every Python frame of the
 * interpreter, in every thread, when it starts or resumes (a generator's
 * frame is evaluated again on each resume). The hook notes the frame's code
 * object the first time it sees it and hands the frame to the default
 * evaluator. Python 3.12+ has sys.monitoring for this (see trace.py), and
 * this file compiles to stubs there.
 *
 * Written in C: on 3.11 the frame is an internal structure whose header
 * only compiles as C.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "trace_hook.h"

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#define Py_BUILD_CORE
#include <internal/pycore_frame.h>
#undef Py_BUILD_CORE
#define FC_TRACE_SUPPORTED 1
typedef struct _PyInterpreterFrame fc_frame;
static PyCodeObject *fc_code_of(fc_frame *f) { return f->f_code; }
#elif PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#define FC_TRACE_SUPPORTED 1
typedef PyFrameObject fc_frame;
static PyCodeObject *fc_code_of(fc_frame *f) { return f->f_code; }
#else
#define FC_TRACE_SUPPORTED 0
#endif

#if FC_TRACE_SUPPORTED

/* The code objects seen, held (so that no address is reused while tracing):
 * an open-addressing set of pointers, grown at half load. */
static PyObject **seen = NULL;
static size_t seen_cap = 0, seen_count = 0;
static PyObject *last = NULL; /* the most recent code: calls repeat */
static int installed = 0;

static size_t slot_of(PyObject *p, size_t cap) {
  size_t h = (size_t)p;
  h ^= h >> 17;
  h *= (size_t)0x9E3779B97F4A7C15ULL;
  return (h >> 7) & (cap - 1);
}

static int grow(void) {
  size_t cap = seen_cap ? seen_cap * 2 : 4096;
  PyObject **table = PyMem_RawCalloc(cap, sizeof(PyObject *));
  if (table == NULL) return -1;
  for (size_t i = 0; i < seen_cap; i++) {
    PyObject *p = seen[i];
    if (p == NULL) continue;
    size_t j = slot_of(p, cap);
    while (table[j] != NULL) j = (j + 1) & (cap - 1);
    table[j] = p;
  }
  PyMem_RawFree(seen);
  seen = table;
  seen_cap = cap;
  return 0;
}

static void note(PyObject *code) {
  if (code == last) return;
  last = code;
  if ((seen_count + 1) * 2 > seen_cap && grow() < 0) return; /* out of memory: stop noting */
  size_t j = slot_of(code, seen_cap);
  while (seen[j] != NULL) {
    if (seen[j] == code) return;
    j = (j + 1) & (seen_cap - 1);
  }
  Py_INCREF(code);
  seen[j] = code;
  seen_count++;
}

static PyObject *eval_hook(PyThreadState *tstate, fc_frame *frame, int throwflag) {
  note((PyObject *)fc_code_of(frame));
  return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
}

int fc_trace_start(void) {
  PyInterpreterState *interp = PyInterpreterState_Get();
  if (installed) return 0;
  if (_PyInterpreterState_GetEvalFrameFunc(interp) != _PyEval_EvalFrameDefault) return 0; /* someone else's */
  _PyInterpreterState_SetEvalFrameFunc(interp, eval_hook);
  installed = 1;
  last = NULL;
  return 1;
}

int fc_trace_displaced(void) {
  return installed && _PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Get()) != eval_hook;
}

PyObject *fc_trace_stop(void) {
  PyInterpreterState *interp = PyInterpreterState_Get();
  if (installed && _PyInterpreterState_GetEvalFrameFunc(interp) == eval_hook)
    _PyInterpreterState_SetEvalFrameFunc(interp, _PyEval_EvalFrameDefault);
  installed = 0;
  last = NULL;
  PyObject *out = PyList_New(0);
  for (size_t i = 0; i < seen_cap; i++) {
    PyObject *p = seen[i];
    if (p == NULL) continue;
    if (out != NULL && PyList_Append(out, p) < 0) Py_CLEAR(out);
    Py_DECREF(p);
  }
  PyMem_RawFree(seen);
  seen = NULL;
  seen_cap = seen_count = 0;
  return out;
}

#else

int fc_trace_start(void) { return 0; }
int fc_trace_displaced(void) { return 0; }
PyObject *fc_trace_stop(void) { return PyList_New(0); }

#endif
