/* wire.h — a worker's reports as JSON members, the same on both ends of
 * the remote-worker protocol (docs/protocol.md, "Workers").
 *
 * Numbers must arrive exactly: a double is written with 17 significant
 * digits (cJSON's own printing stops at 15 when they read back within a
 * relative DBL_EPSILON, which is not always the same double), and strtod
 * reads that back bit for bit. JSON has no NaN or infinity, so those travel as
 * the strings "nan", "inf" and "-inf" (a "not measured" field is NaN). A
 * checkpoint's bytes, and an array's values, travel as base64.
 */
#ifndef RESWEEP_WIRE_H
#define RESWEEP_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "proto.h"

struct cJSON;

/* Adds a double under key (number, or "nan"/"inf"/"-inf"); NULL when out
 * of memory. */
struct cJSON *wire_add_real(struct cJSON *obj, const char *key, double x);
/* A double from a member written by wire_add_real; -EINVAL otherwise. */
int wire_get_real(const struct cJSON *obj, const char *key, double *out);

/* Every field of r as a member of a new object, with its spectrum
 * ({"lo", "hi", "mass": [...]}) and path ([...]); NULL when out of
 * memory. */
struct cJSON *wire_result_to_json(const run_result *r);
/* r from such an object (every field must be present); 0, or -EINVAL
 * with a sentence naming the field. */
int wire_result_from_json(const struct cJSON *obj, run_result *r, char *err,
                          size_t errlen);

/* Curve points as an array of objects; NULL when out of memory. */
struct cJSON *wire_curve_to_json(const curve_point *pts, int n);
/* At most max points from such an array into pts; the count, or -EINVAL
 * with a sentence. */
int wire_curve_from_json(const struct cJSON *arr, curve_point *pts, int max,
                         char *err, size_t errlen);

/* A finished run's arrays (engine.h, run_arrays) as a finish's "arrays"
 * member: [{"name", "shape": [...], "data": base64 of little-endian
 * float64}]; NULL when out of memory. */
struct cJSON *wire_arrays_to_json(const run_arrays *as);
/* *out (one allocation: free()) from such a member; 0, or -EINVAL with a
 * sentence naming the entry (a shape that does not match its data, a
 * name twice, more than RUN_ARRAYS_MAX). */
int wire_arrays_from_json(const struct cJSON *arr, run_arrays **out,
                          char *err, size_t errlen);
/* An array's "name" and "shape" members, added to obj (a finish's entry,
 * an arrays_part); false when out of memory. */
bool wire_array_head_to_json(struct cJSON *obj, const run_array *a);
/* An array's name and shape from obj's members into *a (its data NULL),
 * and its values' count, at most max_values, into *n; 0, or -EINVAL with
 * a sentence that begins with where ("arrays[2]", "arrays_part"). */
int wire_array_head_from_json(const struct cJSON *obj, const char *where,
                              size_t max_values, run_array *a, size_t *n,
                              char *err, size_t errlen);
/* Raw bytes of as's values (8 per value); 0 for NULL. */
size_t wire_arrays_bytes(const run_arrays *as);
/* The most raw bytes of arrays a finish carries itself: half a frame, two
 * thirds of it once in base64, the rest left to its result and curve
 * points. The others go before it in parts (arrays_part), up to
 * PROTO_MAX_ARRAYS; a remote run whose arrays are more fails with a
 * sentence that says so (rhost.c). */
#define WIRE_MAX_ARRAY_BYTES ((size_t)PROTO_MAX_FRAME / 2)
/* as (NULL: none) in two, both borrowing its data: into *inl, in order,
 * each array that still fits in WIRE_MAX_ARRAY_BYTES beside those before
 * it; into *big the others, which go in parts. */
void wire_arrays_split(const run_arrays *as, run_arrays *inl,
                       run_arrays *big);

/* Raw bytes that one frame carries as base64 (4/3 of them) beside a
 * message's other members, a multiple of 8 (whole float64 values): a
 * larger checkpoint or array travels in parts of this size
 * (docs/protocol.md, "Workers"). */
#define WIRE_PART_BYTES ((PROTO_MAX_FRAME - 4096) / 4 * 3 / 8 * 8)

/* Base64 of len bytes (malloc'd, NUL-terminated); NULL when out of
 * memory. */
char *wire_base64(const void *data, size_t len);
/* The bytes of a base64 string (malloc'd into *out); 0, or -EINVAL /
 * -ENOMEM. */
int wire_unbase64(const char *text, void **out, size_t *len);

#endif
