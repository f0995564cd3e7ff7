/* Which functions' docstrings collection reads (see doc_reads.c). */
#pragma once

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts recording every read of a function's `__doc__`, except by the code
 * of the modules named in the tuple `ignore` (and their submodules); 0 when
 * it cannot. Called with the GIL held. */
int fc_doc_reads_start(PyObject *ignore);
/* Stops recording; a new list of the code objects of the functions whose
 * docstring was read, or None when nothing is known (never started, or the
 * recording was displaced). */
PyObject *fc_doc_reads_stop(void);

#ifdef __cplusplus
}
#endif
