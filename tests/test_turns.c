/*
 * test_turns: the speaker-turn parser on transcripts written for these
 * tests: labels with titles, "(retranslated)", name particles, anonymous
 * labels, prose colons, CRLF, and hostile input. Every input is copied into
 * a heap buffer of exactly its length so that ASan catches any overread.
 */
#include "../common/result.h"
#include "../engine/lexicon.h"
#include "../engine/turns.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static result_t *
parse_n(const char *s, size_t len)
{
    result_t *r = result_new();
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, s, len);
    turns_parse(lexicon_builtin(), buf, len, r);
    free(buf);
    for (size_t i = 0; i < r->n_turns; i++) {
        const result_turn_t *t = &r->turns[i];
        assert_true(t->start < t->body);
        assert_true(t->body <= t->end);
        assert_true(t->end <= len);
        if (i + 1 < r->n_turns)
            assert_int_equal(t->end, r->turns[i + 1].start);
        else
            assert_int_equal(t->end, len);
    }
    return r;
}

static result_t *
parse(const char *s)
{
    return parse_n(s, strlen(s));
}

static uint32_t
off(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    assert_non_null(p);
    return (uint32_t)(p - hay);
}

static void
test_titles_and_merge(void **state)
{
    (void)state;
    const char *s =
        "The talks were held in the Kremlin.\n"
        "President of Russia Vladimir Putin: Good afternoon, Mr Ivanenko.\n"
        "Agricultural Holding CEO Pavel Ivanenko: Thank you.\n"
        "Vladimir Putin: Let us begin.\n"
        "Pavel Ivanenko: Certainly.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_speakers, 2);
    assert_string_equal(r->speakers[0].name, "Vladimir Putin");
    assert_string_equal(r->speakers[0].title, "President of Russia");
    assert_int_equal(r->speakers[0].turns, 2);
    assert_string_equal(r->speakers[1].name, "Pavel Ivanenko");
    assert_string_equal(r->speakers[1].title, "Agricultural Holding CEO");
    assert_int_equal(r->n_turns, 4);
    assert_int_equal(r->turns[0].start, off(s, "President of Russia"));
    assert_int_equal(r->turns[0].body, off(s, "Good afternoon"));
    assert_int_equal(r->turns[0].end, off(s, "Agricultural"));
    assert_int_equal(r->turns[1].speaker, 1);
    assert_int_equal(r->turns[2].speaker, 0);
    assert_int_equal(r->turns[3].speaker, 1);
    assert_int_equal(r->turns[3].end, strlen(s));
    result_destroy(&r);
}

static void
test_retranslated_and_particles(void **state)
{
    (void)state;
    const char *s = "Li Qiang (retranslated): We welcome our guests.\n"
                    "Federal Chancellor Hans van der Berg (retranslated): "
                    "Thank you.\n"
                    "King Abdullah II of Jordan: Indeed.\n"
                    "Bashar al-Assad: Yes.\n"
                    "Gleb Orlov, Rector of the Tomsk Polytechnic: I agree.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_turns, 5);
    assert_int_equal(r->n_speakers, 5);
    assert_string_equal(r->speakers[0].name, "Li Qiang");
    assert_string_equal(r->speakers[0].title, "");
    assert_string_equal(r->speakers[1].name, "Hans van der Berg");
    assert_string_equal(r->speakers[1].title, "Federal Chancellor");
    assert_string_equal(r->speakers[2].name, "Abdullah II");
    assert_string_equal(r->speakers[3].name, "Bashar al-Assad");
    assert_string_equal(r->speakers[4].name, "Gleb Orlov");
    assert_string_equal(r->speakers[4].title,
                        "Rector of the Tomsk Polytechnic");
    assert_int_equal(r->turns[0].body, off(s, "We welcome"));
    result_destroy(&r);
}

static void
test_prose_colons(void **state)
{
    (void)state;
    const char *s = "Agenda: the budget and the harvest.\n"
                    "Anna Petrova: There were two reports: from Mr Lebedev "
                    "and from the ministry.\n"
                    "Let me repeat: the deadline stands.\n"
                    "Second: we must finish by May.\n"
                    "The results are clear: growth is back.\n"
                    "Excerpts from the transcript:\n"
                    "Time: 10:30.\n"
                    "Anna Petrova: That is all.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_speakers, 1);
    assert_string_equal(r->speakers[0].name, "Anna Petrova");
    assert_int_equal(r->n_turns, 2);
    assert_int_equal(r->turns[0].start, off(s, "Anna Petrova: There"));
    assert_int_equal(r->turns[0].end, off(s, "Anna Petrova: That"));
    result_destroy(&r);
}

/* Question and Remark labels are turns of no person (speaker -1). */
static void
test_anonymous(void **state)
{
    (void)state;
    const char *s = "Vladimir Putin: Please, go ahead.\n"
                    "Question: When will the bridge open?\n"
                    "Vladimir Putin: Next year.\n"
                    "Remark (retranslated): Thank you.\n"
                    "Putin: You are welcome.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_speakers, 1);
    assert_int_equal(r->n_turns, 5);
    assert_int_equal(r->turns[1].speaker, -1);
    assert_int_equal(r->turns[3].speaker, -1);
    assert_int_equal(r->turns[4].speaker, 0); /* surname of a speaker */
    assert_int_equal(r->speakers[0].turns, 3);
    result_destroy(&r);
}

/* A role word opens an anonymous label only when nothing but a short
 * "from ..." follows; a role before a person's name is that person's
 * title, and a long line that begins with one is prose. */
static void
test_role_word_labels(void **state)
{
    (void)state;
    const char *s =
        "Moderator Irina Sokolova: Welcome to the session.\n"
        "Question from Tula Region: When will the plant reopen?\n"
        "Host of the Young Engineers award evening Pavel Gromov: Thank "
        "you.\n"
        "Irina Sokolova: The budget is ready.\n"
        "All of our pension commitments will be met this year: pensions "
        "and benefits will be indexed.\n"
        "Irina Sokolova: That is all.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_speakers, 2);
    assert_string_equal(r->speakers[0].name, "Irina Sokolova");
    assert_string_equal(r->speakers[0].title, "Moderator");
    assert_string_equal(r->speakers[1].name, "Pavel Gromov");
    assert_string_equal(r->speakers[1].title,
                        "Host of the Young Engineers award evening");
    assert_int_equal(r->n_turns, 5);
    assert_int_equal(r->turns[1].speaker, -1);
    /* the prose line stays inside the turn before it */
    assert_int_equal(r->turns[3].start, off(s, "Irina Sokolova: The"));
    assert_int_equal(r->turns[3].end, off(s, "Irina Sokolova: That"));
    assert_int_equal(r->speakers[0].turns, 3);
    result_destroy(&r);
}

/* Two titles joined by a dash, as government transcripts write a deputy
 * prime minister who also heads a ministry; dashes in prose stay prose. */
static void
test_dash_titles(void **state)
{
    (void)state;
    const char *s =
        "Mikhail Mishustin: Mr Orlov, please.\n"
        "Deputy Prime Minister \xe2\x80\x93 Minister of Transport Gleb Orlov: "
        "Thank you.\n"
        "Head of the Tula Museum \xe2\x80\x94 Research Centre Olga Lebedeva - "
        "Curator Yana Ross: Two names.\n"
        "The fund \xe2\x80\x93 many call it a lifeline \xe2\x80\x93 did three "
        "things:\n"
        "Director of the Tver Zoo - Research Centre Anna Kim: Welcome.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_speakers, 3);
    assert_string_equal(r->speakers[1].name, "Gleb Orlov");
    assert_string_equal(r->speakers[1].title,
                        "Deputy Prime Minister \xe2\x80\x93 Minister of "
                        "Transport");
    assert_string_equal(r->speakers[2].name, "Anna Kim");
    assert_string_equal(r->speakers[2].title,
                        "Director of the Tver Zoo - Research Centre");
    /* a label with two dashes and the prose line are no turns */
    assert_int_equal(r->n_turns, 3);
    assert_int_equal(r->turns[1].end, off(s, "Director of the Tver"));
    result_destroy(&r);
}

static void
test_title_only_labels(void **state)
{
    (void)state;
    /* speakers are persons: a title alone names no one */
    const char *s = "Governor of the Tver Region Igor Smirnov: We are ready.\n"
                    "Nikolai Orlov: I will list the new team.\n"
                    "Minister of Sport: Pavel Belov.\n"
                    "Minister of Transport: Olga Lebedeva.\n"
                    "Governor of the Tver Region: Thank you.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_speakers, 2);
    assert_string_equal(r->speakers[0].name, "Igor Smirnov");
    assert_string_equal(r->speakers[1].name, "Nikolai Orlov");
    /* the list lines are no turns; the known title is Smirnov's turn */
    assert_int_equal(r->n_turns, 3);
    assert_int_equal(r->turns[1].start, off(s, "Nikolai Orlov:"));
    assert_int_equal(r->turns[1].end, off(s, "Governor of the Tver Region:"));
    assert_int_equal(r->turns[2].speaker, 0);
    assert_int_equal(r->speakers[0].turns, 2);
    result_destroy(&r);
}

static void
test_crlf(void **state)
{
    (void)state;
    const char *s = "Lead line.\r\nIgor Smirnov: First.\r\n"
                    "Deputy Prime Minister Olga Belova: Second.\r\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_turns, 2);
    assert_string_equal(r->speakers[0].name, "Igor Smirnov");
    assert_string_equal(r->speakers[1].name, "Olga Belova");
    assert_string_equal(r->speakers[1].title, "Deputy Prime Minister");
    assert_int_equal(r->turns[0].body, off(s, "First"));
    assert_int_equal(r->turns[0].end, off(s, "Deputy"));
    result_destroy(&r);
}

static void
test_hostile(void **state)
{
    (void)state;
    result_t *r = parse_n("", 0);
    assert_int_equal(r->n_turns, 0);
    result_destroy(&r);

    const char nul[] = "Igor\0Smirnov: x\nIgor Smirnov: \0 y\n\xff\xfe: z\n";
    r = parse_n(nul, sizeof nul - 1);
    assert_int_equal(r->n_speakers, 1);
    assert_int_equal(r->n_turns, 1);
    result_destroy(&r);

    const char bad[] = "Igor Sm\xc3: x\n\xe2\x80: y\n:\n::\n(a): b\n";
    r = parse_n(bad, sizeof bad - 1);
    assert_int_equal(r->n_turns, 0);
    result_destroy(&r);

    /* a label at the very end, without speech or newline */
    r = parse("Intro.\nIgor Smirnov:");
    assert_int_equal(r->n_turns, 1);
    assert_int_equal(r->turns[0].body, strlen("Intro.\nIgor Smirnov:"));
    result_destroy(&r);
}

static void
test_spelling_variants(void **state)
{
    (void)state;
    const char *s = "Environment Minister Sergei Dobrynin: Good afternoon.\n"
                    "Sergey Dobrynin: The second point.\n"
                    "SergeyDobrynin: The third.\n"
                    "Yury Belkin: A question.\n"
                    "Yuriy Belkin: Another one.\n"
                    "Aleksei Belkin: Another given name, another person.\n"
                    "Alexandra Belkin: A different person.\n"
                    "Sergei Dobrynina: A different surname.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_turns, 8);
    assert_int_equal(r->n_speakers, 5);
    assert_string_equal(r->speakers[0].name, "Sergei Dobrynin");
    assert_int_equal(r->speakers[0].turns, 3);
    assert_string_equal(r->speakers[1].name, "Yury Belkin");
    assert_int_equal(r->speakers[1].turns, 2);
    assert_string_equal(r->speakers[2].name, "Aleksei Belkin");
    assert_string_equal(r->speakers[3].name, "Alexandra Belkin");
    assert_string_equal(r->speakers[4].name, "Sergei Dobrynina");
    result_destroy(&r);
}

/* A label names a known speaker only by the whole name (or by its last
 * word alone): a name that starts another ("Sergei Ivanov" in "Sergei
 * Ivanova") or shares its first letter is someone else. */
static void
test_speaker_whole_name(void **state)
{
    (void)state;
    const char *s = "Sergei Ivanova: Good afternoon.\n"
                    "Sergei Ivanov: Good afternoon.\n"
                    "Svetlana Ivanova: Hello.\n"
                    "Sergei Ivanov: Again.\n"
                    "Sergei Ivanova: Again.\n"
                    "Ivanov: Briefly.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_turns, 6);
    assert_int_equal(r->n_speakers, 3);
    assert_string_equal(r->speakers[0].name, "Sergei Ivanova");
    assert_string_equal(r->speakers[1].name, "Sergei Ivanov");
    assert_string_equal(r->speakers[2].name, "Svetlana Ivanova");
    assert_int_equal(r->turns[3].speaker, 1);
    assert_int_equal(r->turns[4].speaker, 0);
    assert_int_equal(r->turns[5].speaker, 1);
    result_destroy(&r);
}

/* A label that recurs is taken as its first occurrence was, at its own
 * offsets; a name or title that named no speaker then is looked up again,
 * as the speaker may have come since ("Shoigu:" before and after "Sergei
 * Shoigu:"), and so is a title alone, which a speaker may have taken
 * since. */
static void
test_recurring_labels(void **state)
{
    (void)state;
    const char *s = "Shoigu: Not yet a speaker.\n"
                    "Minister of Defence: Not yet a title.\n"
                    "Sergei Shoigu: First turn.\n"
                    "Shoigu: Now his.\n"
                    "Minister of Defence: Not yet his title.\n"
                    "Minister of Defence Sergei Shoigu: Titled now.\n"
                    "  Minister of Defence:   His turn.\n"
                    "President of Russia Vladimir Putin: Welcome.\n"
                    "Sergei Shoigu: Again.\n"
                    "President of Russia Vladimir Putin:\tThank you.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_speakers, 2);
    assert_string_equal(r->speakers[0].name, "Sergei Shoigu");
    assert_string_equal(r->speakers[0].title, "Minister of Defence");
    assert_string_equal(r->speakers[1].name, "Vladimir Putin");
    assert_string_equal(r->speakers[1].title, "President of Russia");
    assert_int_equal(r->n_turns, 7);
    assert_int_equal(r->turns[0].start, off(s, "Sergei Shoigu: First"));
    assert_int_equal(r->turns[1].start, off(s, "Shoigu: Now"));
    assert_int_equal(r->turns[1].speaker, 0);
    assert_int_equal(r->turns[2].start, off(s, "Minister of Defence Sergei"));
    assert_int_equal(r->turns[3].start, off(s, "Minister of Defence:   His"));
    assert_int_equal(r->turns[3].body, off(s, "His turn"));
    assert_int_equal(r->turns[3].speaker, 0);
    assert_int_equal(r->turns[5].speaker, 0);
    assert_int_equal(r->turns[6].start, off(s, "President of Russia Vladimir "
                                               "Putin:\tThank"));
    assert_int_equal(r->turns[6].body, off(s, "Thank you"));
    assert_int_equal(r->turns[6].speaker, 1);
    assert_int_equal(r->speakers[0].turns, 5);
    assert_int_equal(r->speakers[1].turns, 2);
    result_destroy(&r);
}

/* More distinct labels than are kept: the later ones are parsed each
 * time, with the same outcome. */
static void
test_many_labels(void **state)
{
    (void)state;
    static const char *const names[] = {
        "Anna Petrova",    "Boris Orlov",       "Dmitry Sokolov",
        "Elena Morozova",  "Fyodor Volkov",     "Galina Lebedeva",
        "Igor Kozlov",     "Irina Novikova",    "Kirill Pavlov",
        "Larisa Semenova", "Maxim Egorov",      "Natalya Vinogradova",
        "Oleg Bogdanov",   "Olga Vorobyova",    "Pavel Fedorov",
        "Roman Mikhailov", "Svetlana Belyaeva", "Timur Tarasov",
        "Viktor Belov",    "Yulia Komarova",
    };
    size_t n = sizeof names / sizeof names[0];
    char s[4096];
    size_t len = 0;
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(s + len, sizeof s - len, "%s: Turn %d.\n",
                                    names[i], round);
    assert_true(len < sizeof s);
    result_t *r = parse_n(s, len);
    assert_int_equal(r->n_speakers, n);
    assert_int_equal(r->n_turns, 3 * n);
    for (size_t i = 0; i < 3 * n; i++) {
        assert_int_equal(r->turns[i].speaker, (int32_t)(i % n));
        assert_int_equal(r->turns[i].body - r->turns[i].start,
                         strlen(names[i % n]) + 2);
    }
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r->speakers[i].name, names[i]);
        assert_int_equal(r->speakers[i].turns, 3);
    }
    result_destroy(&r);
}

/* A one-letter last word is an initial only when a dot follows it in the
 * label, whatever labels came before ("Pavel A." then "Pavel A"). */
static void
test_initial_needs_its_dot(void **state)
{
    (void)state;
    result_t *r = parse("Pavel A: Hi.\n");
    size_t turns = r->n_turns;
    result_destroy(&r);
    r = parse("Pavel A. Orlov: Hello.\n"
              "Pavel A: Hi.\n");
    assert_int_equal(r->n_turns, 1 + turns);
    assert_string_equal(r->speakers[0].name, "Pavel A. Orlov");
    result_destroy(&r);
}

static void
test_huge_line(void **state)
{
    (void)state;
    size_t len = 50u << 20;
    char *s = malloc(len);
    assert_non_null(s);
    const char *lab = "Igor Smirnov: ";
    memcpy(s, lab, strlen(lab));
    for (size_t i = strlen(lab); i < len; i++)
        s[i] = "Word: and more "[i % 15];
    result_t *r = result_new();
    turns_parse(lexicon_builtin(), s, len, r);
    assert_int_equal(r->n_turns, 1);
    assert_int_equal(r->turns[0].end, len);
    result_destroy(&r);
    /* many short labelled lines */
    for (size_t i = 0; i + 16 <= len; i += 16)
        memcpy(s + i, "Igor Smirnov: a\n", 16);
    r = result_new();
    turns_parse(lexicon_builtin(), s, len, r);
    assert_int_equal(r->n_turns, len / 16);
    assert_int_equal(r->n_speakers, 1);
    result_destroy(&r);
    free(s);
}

/* A label's name starts after its last noun of office when the given
 * name is not listed ("Chief Financial Officer Tom Becker"). */
static void
test_label_office_nouns(void **state)
{
    (void)state;
    const char *s = "Chief Financial Officer Tom Becker: Thank you.\n"
                    "Senior Risk Manager Ola Nordmann: Yes.\n"
                    "Chief Engineer Pyotr Brusnikin: Indeed.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_turns, 3);
    assert_int_equal(r->n_speakers, 3);
    assert_string_equal(r->speakers[0].name, "Tom Becker");
    assert_string_equal(r->speakers[0].title, "Chief Financial Officer");
    assert_string_equal(r->speakers[1].name, "Ola Nordmann");
    assert_string_equal(r->speakers[1].title, "Senior Risk Manager");
    assert_string_equal(r->speakers[2].name, "Pyotr Brusnikin");
    result_destroy(&r);
}

/* "Name, description:" labels a turn when the name opens with a listed
 * given name and the description is no clause. */
static void
test_label_described_name(void **state)
{
    (void)state;
    const char *s =
        "Vladimir Putin: Go ahead, please.\n"
        "Valeriya Korableva, reporter at Channel One: Thank you.\n"
        "Vladimir Putin: Yes.\n"
        "Konstantin Sivoronov, head of the toxic exposure department: Hi.\n"
        "Alexander Novak, we need your view on this:\n"
        "Mr President, my question is as follows:\n"
        "Sergei Agafonov, Editor in Chief of Ogonyok magazine: Hello.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_turns, 5);
    assert_int_equal(r->n_speakers, 4);
    assert_string_equal(r->speakers[1].name, "Valeriya Korableva");
    assert_string_equal(r->speakers[1].title, "reporter at Channel One");
    assert_string_equal(r->speakers[2].name, "Konstantin Sivoronov");
    assert_string_equal(r->speakers[3].name, "Sergei Agafonov");
    assert_int_equal(r->turns[3].speaker, 2);
    result_destroy(&r);
}

/* A title with more than two lower-case words labels a turn before a
 * name that opens with a listed given name, and is kept whole. */
static void
test_label_long_lower_title(void **state)
{
    (void)state;
    const char *s = "Vladimir Putin: Welcome.\n"
                    "Olympic ice hockey champion Pavel Datsuk: Thank you.\n"
                    "Russian national bandy team player Sergei Lomanov: Yes.\n"
                    "We are glad that we can welcome Sergei Lomanov:\n"
                    "Vladimir Putin: Good.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_turns, 4);
    assert_int_equal(r->n_speakers, 3);
    assert_string_equal(r->speakers[1].name, "Pavel Datsuk");
    assert_string_equal(r->speakers[1].title, "Olympic ice hockey champion");
    assert_string_equal(r->speakers[2].name, "Sergei Lomanov");
    assert_string_equal(r->speakers[2].title,
                        "Russian national bandy team player");
    result_destroy(&r);
}

/* "A. Repik:" labels a turn (the initial is no article), and names the
 * speaker of an earlier "Alexei Repik:" label; a bracketed gloss inside
 * a label is passed over like a parenthetical. */
static void
test_label_initial_and_gloss(void **state)
{
    (void)state;
    const char *s = "President of Delovaya Rossiya [Business Russia] Alexei "
                    "Repik: Good afternoon.\n"
                    "Vladimir Putin: Hello.\n"
                    "A. Repik: Thank you.\n"
                    "A. Voronin: Thanks.\n"
                    "A man said: no.\n";
    result_t *r = parse(s);
    assert_int_equal(r->n_turns, 4);
    assert_int_equal(r->n_speakers, 3);
    assert_string_equal(r->speakers[0].name, "Alexei Repik");
    assert_int_equal(r->turns[2].speaker, 0);
    assert_string_equal(r->speakers[2].name, "A. Voronin");
    result_destroy(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_titles_and_merge),
        cmocka_unit_test(test_retranslated_and_particles),
        cmocka_unit_test(test_prose_colons),
        cmocka_unit_test(test_anonymous),
        cmocka_unit_test(test_role_word_labels),
        cmocka_unit_test(test_dash_titles),
        cmocka_unit_test(test_title_only_labels),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_spelling_variants),
        cmocka_unit_test(test_huge_line),
        cmocka_unit_test(test_label_office_nouns),
        cmocka_unit_test(test_label_described_name),
        cmocka_unit_test(test_label_long_lower_title),
        cmocka_unit_test(test_label_initial_and_gloss),
        cmocka_unit_test(test_speaker_whole_name),
        cmocka_unit_test(test_recurring_labels),
        cmocka_unit_test(test_many_labels),
        cmocka_unit_test(test_initial_needs_its_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
