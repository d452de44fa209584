/* SPDX-License-Identifier: MIT */
/*
 * Table-driven criterion tests: criterion hands each parameter to the test
 * in another process, where pointers into this one mean nothing, so the
 * parameter is a row's index into a static table. ROWS(table) makes them.
 */
#ifndef PTVFS_TEST_ROWS_H
#define PTVFS_TEST_ROWS_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

static inline size_t *row_indexes(size_t n)
{
	size_t *idx = cr_malloc(n * sizeof(*idx));

	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	return idx;
}

static inline void free_row_indexes(struct criterion_test_params *params)
{
	cr_free(params->params);
}

#define ROWS(table)                                                                                \
	cr_make_param_array(size_t, row_indexes(sizeof(table) / sizeof((table)[0])),               \
			    sizeof(table) / sizeof((table)[0]), free_row_indexes)

#endif
