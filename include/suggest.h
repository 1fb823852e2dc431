/* suggest.h — "did you mean ...?" for misspelt keys. */
#ifndef RESWEEP_SUGGEST_H
#define RESWEEP_SUGGEST_H

/* Longest string suggest_distance compares. */
#define SUGGEST_MAX_LEN 64

/* Levenshtein distance with transpositions (optimal string alignment), so
 * that "widht" is one edit from "width"; SUGGEST_MAX_LEN + 1 when either
 * string is longer than SUGGEST_MAX_LEN. */
int suggest_distance(const char *a, const char *b);

#endif
