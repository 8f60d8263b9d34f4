/*
 * Forwarding header: the extraction engine lives in engine/ (its own
 * library, excerpt_engine). Kept so that sources written before the move
 * (cli/cmd_extract.c) build unchanged; new code includes
 * "../engine/extract.h".
 */
#include "../engine/extract.h"
