/*
 * turns: the speaker-turn parser. Finds lines "Label: speech", splits each
 * label into name and title, merges the same person under different labels
 * into one speaker, and adds speakers and turns to a result.
 */
#ifndef EXCERPT_TURNS_H
#define EXCERPT_TURNS_H

#include "../common/result.h"
#include "lexicon.h"

#include <stdbool.h>
#include <stddef.h>

/* Parse text[0..len) and append speakers and turns to r (which must have
 * none yet), looking words up in lx. Turns are in text order; a turn ends
 * where the next begins (or at len). Never fails; pure. */
void turns_parse(const lexicon_t *lx, const char *text, size_t len,
                 result_t *r);

/* Whether given names a[0..an) and b[0..bn) are one name spelt two ways
 * ("Sergei" and "Sergey", "Dmitry" and "Dmitriy", "Alexei" and "Aleksei"):
 * equal once case, i/y/j runs and x/ks are ignored; or b is the initial of
 * a ("A." for "Alexei"). */
bool turns_same_given(const char *a, size_t an, const char *b, size_t bn);

#endif
