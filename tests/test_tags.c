/*
 * test_tags: every field number in proto/tags.h is the one protobuf-c's
 * generated descriptors give for that message and field name, with the
 * wire type the hand-written code assumes; each message tags.h covers is
 * covered whole (a field added to the .proto must be added here too), and
 * the message kinds of wire.h are the Envelope's body field numbers.
 */
#include "excerpt.pb-c.h"
#include "proto/pbraw.h"
#include "proto/tags.h"
#include "proto/wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* One constant of tags.h: the message, the .proto field name, its value
 * and the wire type its key carries. */
typedef struct tag_case {
    const ProtobufCMessageDescriptor *msg; /* generated descriptor */
    const char *field;                     /* name in excerpt.proto */
    unsigned num;                          /* the tags.h constant */
    int wt;                                /* PBRAW_* */
} tag_case_t;

#define D(m) (&excerpt__v1__##m##__descriptor)
#define V PBRAW_VARINT
#define L PBRAW_LEN

static const tag_case_t cases[] = {
    { D(envelope), "version", TAG_ENVELOPE_VERSION, V },
    { D(envelope), "request_id", TAG_ENVELOPE_REQUEST_ID, V },
    { D(envelope), "submit", TAG_ENVELOPE_SUBMIT, L },
    { D(envelope), "accepted", TAG_ENVELOPE_ACCEPTED, L },
    { D(envelope), "rejected", TAG_ENVELOPE_REJECTED, L },
    { D(envelope), "ready", TAG_ENVELOPE_READY, L },
    { D(envelope), "dispatch", TAG_ENVELOPE_DISPATCH, L },
    { D(envelope), "done", TAG_ENVELOPE_DONE, L },
    { D(envelope), "failed", TAG_ENVELOPE_FAILED, L },
    { D(envelope), "heartbeat", TAG_ENVELOPE_HEARTBEAT, L },
    { D(envelope), "done_ack", TAG_ENVELOPE_DONE_ACK, L },
    { D(envelope), "get", TAG_ENVELOPE_GET, L },
    { D(envelope), "get_reply", TAG_ENVELOPE_GET_REPLY, L },
    { D(envelope), "since", TAG_ENVELOPE_SINCE, L },
    { D(envelope), "since_reply", TAG_ENVELOPE_SINCE_REPLY, L },
    { D(envelope), "committed", TAG_ENVELOPE_COMMITTED, L },
    { D(envelope), "stats", TAG_ENVELOPE_STATS, L },
    { D(envelope), "stats_reply", TAG_ENVELOPE_STATS_REPLY, L },
    { D(envelope), "dead_list", TAG_ENVELOPE_DEAD_LIST, L },
    { D(envelope), "dead_list_reply", TAG_ENVELOPE_DEAD_LIST_REPLY, L },
    { D(envelope), "dead_requeue", TAG_ENVELOPE_DEAD_REQUEUE, L },
    { D(envelope), "dead_purge", TAG_ENVELOPE_DEAD_PURGE, L },
    { D(envelope), "dead_reply", TAG_ENVELOPE_DEAD_REPLY, L },
    { D(envelope), "batch", TAG_ENVELOPE_BATCH, L },
    { D(envelope), "query", TAG_ENVELOPE_QUERY, L },
    { D(envelope), "query_reply", TAG_ENVELOPE_QUERY_REPLY, L },

    { D(job), "id", TAG_JOB_ID, V },
    { D(job), "key", TAG_JOB_KEY, L },
    { D(job), "source_url", TAG_JOB_SOURCE_URL, L },
    { D(job), "title", TAG_JOB_TITLE, L },
    { D(job), "published", TAG_JOB_PUBLISHED, L },
    { D(job), "text", TAG_JOB_TEXT, L },
    { D(job), "metadata", TAG_JOB_METADATA, L },
    { D(job), "priority", TAG_JOB_PRIORITY, V },
    { D(job__metadata_entry), "key", TAG_META_KEY, L },
    { D(job__metadata_entry), "value", TAG_META_VALUE, L },

    { D(submit), "job", TAG_SUBMIT_JOB, L },
    { D(dispatch), "job", TAG_DISPATCH_JOB, L },
    { D(dispatch), "attempt", TAG_DISPATCH_ATTEMPT, V },
    { D(dispatch), "lease_ms", TAG_DISPATCH_LEASE_MS, V },
    { D(done), "job_id", TAG_DONE_JOB_ID, V },
    { D(done), "attempt", TAG_DONE_ATTEMPT, V },
    { D(done), "result", TAG_DONE_RESULT, L },
    { D(batch), "items", TAG_BATCH_ITEMS, L },

    { D(result), "job_id", TAG_RESULT_JOB_ID, V },
    { D(result), "seq", TAG_RESULT_SEQ, V },
    { D(result), "speakers", TAG_RESULT_SPEAKERS, L },
    { D(result), "turns", TAG_RESULT_TURNS, L },
    { D(result), "entities", TAG_RESULT_ENTITIES, L },
    { D(result), "figures", TAG_RESULT_FIGURES, L },
    { D(result), "extractor_version", TAG_RESULT_EXTRACTOR_VERSION, L },
    { D(result), "timings", TAG_RESULT_TIMINGS, L },
    { D(result), "source", TAG_RESULT_SOURCE, L },
    { D(timings), "extract_us", TAG_TIMINGS_EXTRACT_US, V },
    { D(timings), "queue_us", TAG_TIMINGS_QUEUE_US, V },
    { D(timings), "total_us", TAG_TIMINGS_TOTAL_US, V },
    { D(speaker), "name", TAG_SPEAKER_NAME, L },
    { D(speaker), "title", TAG_SPEAKER_TITLE, L },
    { D(speaker), "turns", TAG_SPEAKER_TURNS, V },
    { D(turn), "speaker", TAG_TURN_SPEAKER, V },
    { D(turn), "start", TAG_TURN_START, V },
    { D(turn), "end", TAG_TURN_END, V },
    { D(turn), "body", TAG_TURN_BODY, V },
    { D(mention), "text", TAG_MENTION_TEXT, L },
    { D(mention), "start", TAG_MENTION_START, V },
    { D(mention), "end", TAG_MENTION_END, V },
    { D(mention), "turn", TAG_MENTION_TURN, V },
    { D(entity), "type", TAG_ENTITY_TYPE, V },
    { D(entity), "name", TAG_ENTITY_NAME, L },
    { D(entity), "role", TAG_ENTITY_ROLE, L },
    { D(entity), "mentions", TAG_ENTITY_MENTIONS, L },
    { D(figure), "type", TAG_FIGURE_TYPE, V },
    { D(figure), "text", TAG_FIGURE_TEXT, L },
    { D(figure), "value", TAG_FIGURE_VALUE, PBRAW_I64 },
    { D(figure), "has_value", TAG_FIGURE_HAS_VALUE, V },
    { D(figure), "iso", TAG_FIGURE_ISO, L },
    { D(figure), "unit", TAG_FIGURE_UNIT, L },
    { D(figure), "start", TAG_FIGURE_START, V },
    { D(figure), "end", TAG_FIGURE_END, V },
    { D(figure), "turn", TAG_FIGURE_TURN, V },
};

#define N_CASES (sizeof cases / sizeof cases[0])

/* The wire type protobuf-c writes a non-packed field of this type with. */
static int
wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return PBRAW_I64;
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return PBRAW_I32;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return PBRAW_LEN;
    default:
        return PBRAW_VARINT;
    }
}

static void
test_numbers_match_descriptors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CASES; i++) {
        const tag_case_t *c = &cases[i];
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field_by_name(c->msg, c->field);
        if (!fd)
            fail_msg("%s.%s: no such field", c->msg->name, c->field);
        if (fd->id != c->num)
            fail_msg("%s.%s: tags.h says %u, the .proto says %u", c->msg->name,
                     c->field, c->num, fd->id);
        if (wire_type_of(fd->type) != c->wt)
            fail_msg("%s.%s: wire type %d, code assumes %d", c->msg->name,
                     c->field, wire_type_of(fd->type), c->wt);
        /* and the lookup by number gives the same field back */
        assert_ptr_equal(
            protobuf_c_message_descriptor_get_field(c->msg, c->num), fd);
    }
}

/* Each message listed is covered whole, so a new field in one of them
 * cannot be missed here, and no field is listed twice. */
static void
test_messages_covered_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CASES; i++) {
        const ProtobufCMessageDescriptor *m = cases[i].msg;
        unsigned listed = 0;
        for (size_t j = 0; j < N_CASES; j++) {
            if (cases[j].msg != m)
                continue;
            listed++;
            if (j != i && strcmp(cases[j].field, cases[i].field) == 0)
                fail_msg("%s.%s listed twice", m->name, cases[i].field);
        }
        if (listed != m->n_fields)
            fail_msg("%s: %u of its %u fields in tags.h", m->name, listed,
                     m->n_fields);
    }
}

/* The one-byte keys wire_result.c and wire_splice.c write. */
static void
test_one_byte_keys(void **state)
{
    (void)state;
    assert_int_equal(TAG_KEY(TAG_ENVELOPE_DONE, PBRAW_LEN), 0x7a);
    assert_int_equal(TAG_KEY(TAG_ENVELOPE_DISPATCH, PBRAW_LEN), 0x72);
    assert_int_equal(TAG_KEY(TAG_FIGURE_VALUE, PBRAW_I64), 0x19);
    assert_int_equal(TAG_KEY(TAG_RESULT_TIMINGS, PBRAW_LEN), 0x42);
    for (size_t i = 0; i < N_CASES; i++)
        if (cases[i].msg != D(envelope) || cases[i].num < TAG_ENVELOPE_BODY_MIN)
            assert_true(TAG_KEY(cases[i].num, cases[i].wt) < 0x80);
}

/* wire_kind_t values are the Envelope body field numbers, which
 * wire_decode relies on (it returns body_case as the kind). */
static void
test_wire_kinds_are_body_fields(void **state)
{
    (void)state;
    static const struct {
        int kind;
        int body_case;
    } k[] = {
        { WIRE_SUBMIT, EXCERPT__V1__ENVELOPE__BODY_SUBMIT },
        { WIRE_DISPATCH, EXCERPT__V1__ENVELOPE__BODY_DISPATCH },
        { WIRE_DONE, EXCERPT__V1__ENVELOPE__BODY_DONE },
        { WIRE_STATS_REPLY, EXCERPT__V1__ENVELOPE__BODY_STATS_REPLY },
        { WIRE_BATCH, EXCERPT__V1__ENVELOPE__BODY_BATCH },
        { WIRE_QUERY_REPLY, EXCERPT__V1__ENVELOPE__BODY_QUERY_REPLY },
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        assert_int_equal(k[i].kind, k[i].body_case);
    assert_int_equal(TAG_ENVELOPE_BODY_MIN, EXCERPT__V1__ENVELOPE__BODY_SUBMIT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_match_descriptors),
        cmocka_unit_test(test_messages_covered_whole),
        cmocka_unit_test(test_one_byte_keys),
        cmocka_unit_test(test_wire_kinds_are_body_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
