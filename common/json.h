/* Writing JSON. */
#ifndef MTAG_JSON_H
#define MTAG_JSON_H

#include <stdio.h>

/* Writes s as a JSON string: quoted, with '"', '\\' and control
 * characters escaped, and bytes that are not UTF-8 replaced by U+FFFD. */
void mtag_json_string(FILE *f, const char *s);

/* Writes v with up to digits significant digits, or null when it is not
 * finite. */
void mtag_json_number(FILE *f, double v, int digits);

#endif
