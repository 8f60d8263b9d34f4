/*
 * tags: the protobuf field numbers of proto/excerpt.proto that the
 * hand-written encoders, splicers and walkers use (wire.c's fast paths,
 * wire_result.c, wire_splice.c, wire_batch.c, the store's Result walker).
 * One constant per field, TAG_<MESSAGE>_<FIELD>; tests/test_tags.c checks
 * each against protobuf-c's generated descriptors. Numbers only, no code.
 */
#ifndef EXCERPT_TAGS_H
#define EXCERPT_TAGS_H

/* The key byte(s) of a field: its number shifted left by 3, or'ed with
 * its wire type (PBRAW_VARINT, PBRAW_I64, PBRAW_LEN or PBRAW_I32). Every
 * field below 16 has a one-byte key. */
#define TAG_KEY(num, wt) ((unsigned)(num) << 3 | (unsigned)(wt))

enum {
    /* Envelope: the frame every peer sends */
    TAG_ENVELOPE_VERSION = 1,
    TAG_ENVELOPE_REQUEST_ID = 2,
    TAG_ENVELOPE_SUBMIT = 10, /* the oneof body: 10 .. 33 */
    TAG_ENVELOPE_ACCEPTED = 11,
    TAG_ENVELOPE_REJECTED = 12,
    TAG_ENVELOPE_READY = 13,
    TAG_ENVELOPE_DISPATCH = 14,
    TAG_ENVELOPE_DONE = 15,
    TAG_ENVELOPE_FAILED = 16,
    TAG_ENVELOPE_HEARTBEAT = 17,
    TAG_ENVELOPE_DONE_ACK = 18,
    TAG_ENVELOPE_GET = 19,
    TAG_ENVELOPE_GET_REPLY = 20,
    TAG_ENVELOPE_SINCE = 21,
    TAG_ENVELOPE_SINCE_REPLY = 22,
    TAG_ENVELOPE_COMMITTED = 23,
    TAG_ENVELOPE_STATS = 24,
    TAG_ENVELOPE_STATS_REPLY = 25,
    TAG_ENVELOPE_DEAD_LIST = 26,
    TAG_ENVELOPE_DEAD_LIST_REPLY = 27,
    TAG_ENVELOPE_DEAD_REQUEUE = 28,
    TAG_ENVELOPE_DEAD_PURGE = 29,
    TAG_ENVELOPE_DEAD_REPLY = 30,
    TAG_ENVELOPE_BATCH = 31,
    TAG_ENVELOPE_QUERY = 32,
    TAG_ENVELOPE_QUERY_REPLY = 33,
    TAG_ENVELOPE_BODY_MIN = TAG_ENVELOPE_SUBMIT, /* lowest body field */

    /* Job */
    TAG_JOB_ID = 1,
    TAG_JOB_KEY = 2,
    TAG_JOB_SOURCE_URL = 3,
    TAG_JOB_TITLE = 4,
    TAG_JOB_PUBLISHED = 5,
    TAG_JOB_TEXT = 6,
    TAG_JOB_METADATA = 7, /* map entries, each a TAG_META_* message */
    TAG_JOB_PRIORITY = 8,

    /* Job.metadata's map entry */
    TAG_META_KEY = 1,
    TAG_META_VALUE = 2,

    /* Submit */
    TAG_SUBMIT_JOB = 1,

    /* Dispatch */
    TAG_DISPATCH_JOB = 1,
    TAG_DISPATCH_ATTEMPT = 2,
    TAG_DISPATCH_LEASE_MS = 3,

    /* Done */
    TAG_DONE_JOB_ID = 1,
    TAG_DONE_ATTEMPT = 2,
    TAG_DONE_RESULT = 3,

    /* Batch */
    TAG_BATCH_ITEMS = 1,

    /* Result, also the value of the store's results table */
    TAG_RESULT_JOB_ID = 1,
    TAG_RESULT_SEQ = 2,
    TAG_RESULT_SPEAKERS = 3,
    TAG_RESULT_TURNS = 4,
    TAG_RESULT_ENTITIES = 5,
    TAG_RESULT_FIGURES = 6,
    TAG_RESULT_EXTRACTOR_VERSION = 7,
    TAG_RESULT_TIMINGS = 8,
    TAG_RESULT_SOURCE = 9,

    /* Timings */
    TAG_TIMINGS_EXTRACT_US = 1,
    TAG_TIMINGS_QUEUE_US = 2,
    TAG_TIMINGS_TOTAL_US = 3,

    /* Speaker */
    TAG_SPEAKER_NAME = 1,
    TAG_SPEAKER_TITLE = 2,
    TAG_SPEAKER_TURNS = 3,

    /* Turn */
    TAG_TURN_SPEAKER = 1,
    TAG_TURN_START = 2,
    TAG_TURN_END = 3,
    TAG_TURN_BODY = 4,

    /* Mention */
    TAG_MENTION_TEXT = 1,
    TAG_MENTION_START = 2,
    TAG_MENTION_END = 3,
    TAG_MENTION_TURN = 4,

    /* Entity */
    TAG_ENTITY_TYPE = 1,
    TAG_ENTITY_NAME = 2,
    TAG_ENTITY_ROLE = 3,
    TAG_ENTITY_MENTIONS = 4,

    /* Figure */
    TAG_FIGURE_TYPE = 1,
    TAG_FIGURE_TEXT = 2,
    TAG_FIGURE_VALUE = 3,
    TAG_FIGURE_HAS_VALUE = 4,
    TAG_FIGURE_ISO = 5,
    TAG_FIGURE_UNIT = 6,
    TAG_FIGURE_START = 7,
    TAG_FIGURE_END = 8,
    TAG_FIGURE_TURN = 9
};

#endif
