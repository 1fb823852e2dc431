/* consts.h — numbers that more than one layer must agree on, each defined
 * once (the engine's configuration, the job specification, the protocol,
 * the store and the CLI all read them from here).
 */
#ifndef RESWEEP_CONSTS_H
#define RESWEEP_CONSTS_H

#include <stdint.h>

/* The largest integer a JSON number (an IEEE double) carries exactly: 2^53.
 * Seeds, job ids and run indexes are refused above it. */
#define JSON_INT_MAX     9007199254740992.0
#define JSON_INT_MAX_I64 ((int64_t)1 << 53)

/* How long any connection to the database (the daemon's writer, its
 * readers, the CLI's read-only queries) waits for a lock another holds. */
#define DB_BUSY_MS 5000

/* A Hessian estimate (docs/theory.md §6.3) is converged when both Ritz
 * residuals are at most this times max(|hess_min|, |hess_max|), the
 * estimate of ||H||: the engine sets hess_converged by it and the report
 * quotes it (schema/002_lanczos_convergence.sql applies it to older rows).
 * Each extreme is then within a millionth of ||H|| of an eigenvalue. */
#define LANCZOS_RTOL 1e-6

#endif
