/* Which names collection reads from module namespaces (see module_reads.c). */
#pragma once

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts recording every attribute read on a module object, except by the
 * code of the modules named in the tuple `ignore` (and their submodules);
 * 0 when it cannot. Called with the GIL held. */
int fc_module_reads_start(PyObject *ignore);
/* Stops recording; a new dict {module: set of names read}, or None when
 * nothing was recorded or the recording was displaced. */
PyObject *fc_module_reads_stop(void);

/* {co_filename: names looked up in its globals} over a list of code objects;
 * `table`: 256 bytes, see module_reads.c. NULL with an exception set on error. */
PyObject *fc_own_reads(PyObject *codes, PyObject *table);

#ifdef __cplusplus
}
#endif
