/*
 * test_entities: the entity recogniser on sentences written for these
 * tests. Each case checks exact mention spans, types, canonical names and
 * roles: titles and speaker labels, Mr X propagation, flat longest spans,
 * coordinations, possessives, hyphenated nationalities, sentence-initial
 * words; plus hostile input. Inputs are exact-size heap copies (ASan).
 */
#include "../common/result.h"
#include "../engine/entities.h"
#include "../engine/extract.h"
#include "../engine/gaz.h"
#include "../engine/lexicon.h"
#include "../engine/tok.h"
#include "../engine/turns.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static entities_t *ent;

static int
setup(void **state)
{
    (void)state;
    ent = entities_new(lexicon_builtin());
    return ent ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    entities_destroy(&ent);
    entities_destroy(&ent); /* safe twice */
    return 0;
}

static result_t *
scan_n(const char *s, size_t len)
{
    result_t *r = result_new();
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, s, len);
    turns_parse(lexicon_builtin(), buf, len, r);
    entities_scan(ent, buf, len, r);
    result_finish(r);
    for (size_t i = 0; i < r->n_entities; i++)
        for (size_t k = 0; k < r->entities[i].n_mentions; k++) {
            const result_mention_t *m = &r->entities[i].mentions[k];
            assert_true(m->start < m->end);
            assert_true(m->end <= len);
            assert_memory_equal(m->text, s + m->start, m->end - m->start);
        }
    free(buf);
    return r;
}

static result_t *
scan(const char *s)
{
    return scan_n(s, strlen(s));
}

/* The entity holding a mention with this exact text, or NULL. */
static const result_entity_t *
find(const result_t *r, const char *text, const result_mention_t **mp)
{
    for (size_t i = 0; i < r->n_entities; i++)
        for (size_t k = 0; k < r->entities[i].n_mentions; k++)
            if (strcmp(r->entities[i].mentions[k].text, text) == 0) {
                if (mp)
                    *mp = &r->entities[i].mentions[k];
                return &r->entities[i];
            }
    return NULL;
}

/* Assert a mention "text" of type at its first occurrence in s. */
static const result_entity_t *
expect(const result_t *r, const char *s, const char *text, int type)
{
    const result_mention_t *m = NULL;
    const result_entity_t *e = find(r, text, &m);
    if (!e)
        fail_msg("no mention \"%s\"", text);
    assert_string_equal(result_entity_type_name(e->type),
                        result_entity_type_name(type));
    const char *p = strstr(s, text);
    assert_non_null(p);
    assert_int_equal(m->start, (uint32_t)(p - s));
    assert_int_equal(m->end, (uint32_t)(p - s + strlen(text)));
    return e;
}

static void
expect_none(const result_t *r, const char *text)
{
    if (find(r, text, NULL))
        fail_msg("unexpected mention \"%s\"", text);
}

static void
test_labels_and_titles(void **state)
{
    (void)state;
    const char *s =
        "President of Russia Vladimir Putin: Good afternoon.\n"
        "Rostec Corporation CEO Sergei Chemezov: Thank you, Mr President.\n"
        "Vladimir Putin: Deputy Prime Minister Alexei Overchuk will "
        "join us.\n";
    result_t *r = scan(s);
    const result_entity_t *e = expect(r, s, "Vladimir Putin", RESULT_PERSON);
    assert_int_equal(e->n_mentions, 2);
    assert_string_equal(e->role, "President of Russia");
    expect(r, s, "Russia", RESULT_GPE);
    expect(r, s, "Rostec Corporation", RESULT_ORG);
    expect(r, s, "Sergei Chemezov", RESULT_PERSON);
    e = expect(r, s, "Alexei Overchuk", RESULT_PERSON);
    assert_string_equal(e->role, "Deputy Prime Minister");
    assert_int_equal(e->mentions[0].turn, 2);
    expect_none(r, "President");
    expect_none(r, "CEO");
    result_destroy(&r);
}

static void
test_mr_propagation(void **state)
{
    (void)state;
    const char *s = "Mr Mamin, welcome. Later Askar Mamin spoke, and Mamin's "
                    "plan was adopted. Mr. Lebedev agreed.";
    result_t *r = scan(s);
    const result_mention_t *m = NULL;
    const result_entity_t *e = find(r, "Mamin", &m);
    assert_non_null(e);
    assert_int_equal(e->type, RESULT_PERSON);
    assert_string_equal(e->name, "Askar Mamin");
    assert_int_equal(e->n_mentions, 3); /* Mr Mamin, Askar Mamin, Mamin's */
    assert_int_equal(e->mentions[0].start, 3);
    assert_int_equal(e->mentions[0].end, 8);
    /* possessive excluded from the span */
    const char *p = strstr(s, "Mamin's");
    assert_int_equal(e->mentions[2].start, (uint32_t)(p - s));
    assert_int_equal(e->mentions[2].end, (uint32_t)(p - s + 5));
    expect(r, s, "Askar Mamin", RESULT_PERSON);
    e = expect(r, s, "Lebedev", RESULT_PERSON);
    assert_string_equal(e->name, "Lebedev");
    expect_none(r, "Mr");
    expect_none(r, "Later");
    result_destroy(&r);
}

static void
test_flat_longest(void **state)
{
    (void)state;
    const char *s = "The Healthcare Ministry of the Russian Federation and the "
                    "Federal Antimonopoly Service met. The Ministry of "
                    "Economic Development agreed with the Russian "
                    "Government. The Government and the President "
                    "approved it.";
    result_t *r = scan(s);
    expect(r, s, "Healthcare Ministry of the Russian Federation", RESULT_ORG);
    expect(r, s, "Federal Antimonopoly Service", RESULT_ORG);
    expect(r, s, "Ministry of Economic Development", RESULT_ORG);
    expect(r, s, "Russian Government", RESULT_ORG);
    expect_none(r, "Russian Federation");
    expect_none(r, "Government");
    expect_none(r, "President");
    expect_none(r, "The");
    assert_int_equal(r->n_entities, 4);
    result_destroy(&r);
}

static void
test_coordination(void **state)
{
    (void)state;
    const char *s =
        "Funds go to the Amur and Irkutsk regions, the Primorye and "
        "Khabarovsk territories, and Kursk, Tambov and Oryol "
        "regions, plus the Jewish Autonomous Region and the "
        "Kurgan Region's programme.";
    result_t *r = scan(s);
    expect(r, s, "Amur", RESULT_GPE);
    expect(r, s, "Irkutsk", RESULT_GPE);
    expect(r, s, "Primorye", RESULT_GPE);
    expect(r, s, "Khabarovsk", RESULT_GPE);
    expect(r, s, "Kursk", RESULT_GPE);
    expect(r, s, "Tambov", RESULT_GPE);
    expect(r, s, "Oryol", RESULT_GPE);
    expect(r, s, "Jewish Autonomous Region", RESULT_GPE);
    expect(r, s, "Kurgan Region", RESULT_GPE);
    expect_none(r, "Funds");
    result_destroy(&r);
}

/* A capitalised plural head closes an "X and Y" list as well. */
static void
test_capitalised_plural_head(void **state)
{
    (void)state;
    const char *s = "Ships sail the White and Barents Seas; aid reached the "
                    "Tver and Vladimir Regions.";
    result_t *r = scan(s);
    expect(r, s, "White", RESULT_LOC);
    expect(r, s, "Barents", RESULT_LOC);
    expect(r, s, "Tver", RESULT_GPE);
    expect(r, s, "Vladimir", RESULT_GPE);
    expect_none(r, "Vladimir Regions");
    result_destroy(&r);
}

static void
test_hyphen_norp_places(void **state)
{
    (void)state;
    const char *s = "The Kyrgyz-Russian talks in the Kremlin covered the Far "
                    "East, the Arctic, the Baikal-Amur Mainline, the European "
                    "Union, the Union State and the G20. Kazakhstan’s "
                    "partners and Kazakhstani firms joined.";
    result_t *r = scan(s);
    expect(r, s, "Kyrgyz", RESULT_NORP);
    const result_mention_t *m = NULL;
    const result_entity_t *e = find(r, "Russian", &m);
    assert_non_null(e);
    assert_int_equal(e->type, RESULT_NORP);
    assert_int_equal(m->start, (uint32_t)(strstr(s, "Russian") - s));
    expect(r, s, "Kremlin", RESULT_FAC);
    expect(r, s, "Far East", RESULT_LOC);
    expect(r, s, "Arctic", RESULT_LOC);
    expect(r, s, "Baikal-Amur Mainline", RESULT_FAC);
    expect(r, s, "European Union", RESULT_ORG);
    expect(r, s, "Union State", RESULT_ORG);
    expect(r, s, "G20", RESULT_ORG);
    expect(r, s, "Kazakhstan", RESULT_GPE); /* ’s dropped */
    expect(r, s, "Kazakhstani", RESULT_NORP);
    expect_none(r, "Kyrgyz-Russian");
    result_destroy(&r);
}

static void
test_complement_lists(void **state)
{
    (void)state;
    const char *in =
        "The Russian-Chilean Commission on Trade, Industrial and Cultural "
        "Cooperation met the Ministry of Transport, Roads and Bridges. "
        "We wrote to the Ministry of Energy, Gazprom and the Kursk "
        "Region. Help came from the Ministry of Health, Small and Rural "
        "Farms Corporation.";
    result_t *r = scan(in);
    expect(r, in,
           "Russian-Chilean Commission on Trade, Industrial and Cultural "
           "Cooperation",
           RESULT_ORG);
    expect(r, in, "Ministry of Transport, Roads and Bridges", RESULT_ORG);
    /* a list of names is no list of topics */
    expect(r, in, "Ministry of Energy", RESULT_ORG);
    expect(r, in, "Gazprom", RESULT_ORG);
    /* the last item runs on into a name of its own */
    expect(r, in, "Ministry of Health", RESULT_ORG);
    expect_none(r, "Ministry of Health, Small and Rural Farms");
    result_destroy(&r);
}

/* A facility noun after "and" in a body's complement is a subject of its
 * name; with "the" it is a place of its own. */
static void
test_complement_facility_noun(void **state)
{
    (void)state;
    const char *in =
        "The Duma Committee on Regional Policy and Town Building met. "
        "The Ministry of Transport and the Volga Bridge were named.";
    result_t *r = scan(in);
    expect(r, in, "Duma Committee on Regional Policy and Town Building",
           RESULT_ORG);
    expect_none(r, "Town Building");
    expect(r, in, "Ministry of Transport", RESULT_ORG);
    expect(r, in, "Volga Bridge", RESULT_FAC);
    result_destroy(&r);
}

static void
test_org_forms(void **state)
{
    (void)state;
    const char *in =
        "Ties between Russia-EU and EU-Russia forums, the Russia-NATO "
        "talks and Lukoil-Perm. The Kovdorsky GOK and Zarya PAO grew. "
        "The State Great Khural and the Verkhovna Rada met.";
    result_t *r = scan(in);
    const result_entity_t *e = expect(r, in, "EU", RESULT_ORG);
    assert_string_equal(e->name, "European Union");
    expect(r, in, "Russia", RESULT_GPE);
    expect(r, in, "NATO", RESULT_ORG);
    /* a company's own hyphenated name is not split */
    expect_none(r, "Lukoil");
    expect(r, in, "Kovdorsky GOK", RESULT_ORG);
    expect(r, in, "Zarya PAO", RESULT_ORG);
    expect(r, in, "State Great Khural", RESULT_ORG);
    expect(r, in, "Verkhovna Rada", RESULT_ORG);
    result_destroy(&r);
}

static void
test_title_place_unknown_name(void **state)
{
    (void)state;
    const char *in =
        "We met President of Mongolia Tsakhiagiin Elbegdorj and Minister "
        "of Finance of Uruguay Danilo Astori Ferreira. Mr Elbegdorj "
        "agreed. Chairman of the Gazprom Management Board spoke.";
    result_t *r = scan(in);
    expect(r, in, "Mongolia", RESULT_GPE);
    const result_entity_t *e =
        expect(r, in, "Tsakhiagiin Elbegdorj", RESULT_PERSON);
    assert_string_equal(e->role, "President of Mongolia");
    expect(r, in, "Uruguay", RESULT_GPE);
    expect(r, in, "Danilo Astori Ferreira", RESULT_PERSON);
    e = find(r, "Elbegdorj", NULL); /* "Mr Elbegdorj" */
    assert_non_null(e);
    assert_string_equal(e->name, "Tsakhiagiin Elbegdorj");
    /* after an organisation the words go on with its name */
    expect_none(r, "Management Board");
    result_destroy(&r);
}

static void
test_unknown_towns(void **state)
{
    (void)state;
    const char *in =
        "A plant opened in Zelenodolsk and a depot near Lyubertsy, trains "
        "go from Dmitrovsk to Borovichino. The Zelenogradsk Shipyard and "
        "Mr Kolomensk spoke; we wrote to Pavlovsk Grigoryev and in Klin.";
    result_t *r = scan(in);
    expect(r, in, "Zelenodolsk", RESULT_GPE);
    expect(r, in, "Dmitrovsk", RESULT_GPE);
    expect(r, in, "Borovichino", RESULT_GPE);
    /* "in", "near" take a town without a suffix too */
    expect(r, in, "Lyubertsy", RESULT_GPE);
    expect(r, in, "Klin", RESULT_GPE);
    /* no preposition, a longer name, a person */
    expect_none(r, "Zelenogradsk");
    const result_entity_t *e = find(r, "Kolomensk", NULL);
    assert_true(e == NULL || e->type == RESULT_PERSON);
    e = find(r, "Pavlovsk", NULL);
    assert_true(e == NULL || e->type != RESULT_GPE);
    result_destroy(&r);
}

static void
test_boards(void **state)
{
    (void)state;
    const char *in =
        "Last year the Rosneft Supervisory Board approved it, and the "
        "Sberbank Board of Trustees met. Chair of the Gazprom Management "
        "Board Maria Petrova spoke. The Lukoil Management Board Chairman "
        "left.";
    result_t *r = scan(in);
    expect(r, in, "Rosneft Supervisory Board", RESULT_ORG);
    expect(r, in, "Sberbank Board of Trustees", RESULT_ORG);
    /* inside or before a title the board belongs to the office */
    expect(r, in, "Gazprom", RESULT_ORG);
    expect_none(r, "Gazprom Management Board");
    const result_entity_t *e = expect(r, in, "Maria Petrova", RESULT_PERSON);
    assert_string_equal(e->role, "Chair of the Gazprom Management Board");
    expect(r, in, "Lukoil", RESULT_ORG);
    expect_none(r, "Lukoil Management Board");
    result_destroy(&r);
}

/* World cities, regional compounds and political adjectives from the
 * curated lists. */
static void
test_world_places_norp(void **state)
{
    (void)state;
    const char *in = "Talks in Bagdad and Erbil touched on Iraqi Kurdistan and "
                     "on shipping in the Gulf. Some Western partners filmed "
                     "it in Hollywood. The Nazi regime fell in Potsdam talks; "
                     "the Western Balkans stayed calm.";
    result_t *r = scan(in);
    const result_entity_t *e = expect(r, in, "Bagdad", RESULT_GPE);
    assert_string_equal(e->name, "Baghdad");
    expect(r, in, "Erbil", RESULT_GPE);
    expect(r, in, "Iraqi Kurdistan", RESULT_GPE);
    expect(r, in, "Gulf", RESULT_LOC);
    expect(r, in, "Western", RESULT_NORP);
    expect(r, in, "Hollywood", RESULT_GPE);
    expect(r, in, "Nazi", RESULT_NORP);
    expect(r, in, "Potsdam", RESULT_GPE);
    expect(r, in, "Western Balkans", RESULT_LOC);
    expect_none(r, "Iraqi");
    expect_none(r, "Kurdistan");
    result_destroy(&r);
}

/* "Staff" heads a body's name, inside a title too; "Chief of Staff"
 * stays a title. */
static void
test_staff_head(void **state)
{
    (void)state;
    const char *in = "Deputy Prime Minister \xe2\x80\x93 Chief of the "
                     "Government Staff Irina Sokolova spoke after the Chief "
                     "of Staff. The General Staff agreed.";
    result_t *r = scan(in);
    expect(r, in, "Government Staff", RESULT_ORG);
    expect(r, in, "Irina Sokolova", RESULT_PERSON);
    expect(r, in, "General Staff", RESULT_ORG);
    expect_none(r, "Staff");
    result_destroy(&r);
}

/* A listed non-entity is not named by the head rule: the Government's
 * Reserve Fund is a budget fund. */
static void
test_listed_non_entity(void **state)
{
    (void)state;
    const char *in = "Money came from the Government's Reserve Fund and the "
                     "Pension Fund of Russia.";
    result_t *r = scan(in);
    expect_none(r, "Reserve Fund");
    expect_none(r, "Fund");
    expect(r, in, "Pension Fund of Russia", RESULT_ORG);
    result_destroy(&r);
}

/* "Lake", "Mount", "Cape" before an unknown name make a LOC. */
static void
test_place_noun_before_name(void **state)
{
    (void)state;
    const char *in = "Tourists camp by Lake Zelyonoye, climb Mount Kedrovaya "
                     "and sail past Cape Ostry. The Lake was calm.";
    result_t *r = scan(in);
    expect(r, in, "Lake Zelyonoye", RESULT_LOC);
    expect(r, in, "Mount Kedrovaya", RESULT_LOC);
    expect(r, in, "Cape Ostry", RESULT_LOC);
    expect_none(r, "Lake");
    result_destroy(&r);
}

/* A hyphenated pair of capitalised names before "railway", "pipeline",
 * "motorway"... is one FAC; other hyphenated pairs split as before. */
static void
test_lines_between_places(void **state)
{
    (void)state;
    const char *in = "Trains run on the Tomsk-Bely Yar railway and the "
                     "Kedrovy-Orlovka railway; the Orsk-Chelyabinsk pipeline "
                     "opened. The Russia-Mongolia talks went well.";
    result_t *r = scan(in);
    expect(r, in, "Kedrovy-Orlovka railway", RESULT_FAC);
    expect(r, in, "Orsk-Chelyabinsk pipeline", RESULT_FAC);
    expect(r, in, "Russia", RESULT_GPE);
    expect(r, in, "Mongolia", RESULT_GPE);
    expect_none(r, "Tomsk-Bely Yar railway");
    result_destroy(&r);
}

static void
test_sentence_initial(void **state)
{
    (void)state;
    const char *s =
        "Practical issues remain. Speaking about agriculture, "
        "Overall output grew. Animal farming. Nevertheless, Sergei "
        "Ivanov of the Golden Harvest Exhibition disagreed. "
        "Ivanov said so. Who decides? The WHO and Russian regions do.";
    result_t *r = scan(s);
    expect(r, s, "Sergei Ivanov", RESULT_PERSON);
    const result_entity_t *e = find(r, "Ivanov", NULL);
    assert_non_null(e);
    assert_string_equal(e->name, "Sergei Ivanov");
    expect_none(r, "Practical");
    expect_none(r, "Speaking");
    expect_none(r, "Overall");
    expect_none(r, "Animal");
    expect_none(r, "Golden Harvest Exhibition");
    expect_none(r, "Who");
    expect(r, s, "WHO", RESULT_ORG);
    expect(r, s, "Russian", RESULT_NORP);
    assert_int_equal(r->n_entities, 3);
    result_destroy(&r);
}

static void
test_extract_run_crlf(void **state)
{
    (void)state;
    const char *s = "Lead line about Minsk.\r\n"
                    "Mikhail Mishustin: Mr Mamin, welcome to Moscow.\r\n"
                    "Askar Mamin: Thank you, Mr Mishustin.\r\n";
    extract_t *ex = extract_new();
    result_t *r = NULL;
    assert_int_equal(extract_run(ex, s, strlen(s), &r), 0);
    assert_int_equal(r->n_speakers, 2);
    const result_mention_t *m = NULL;
    const result_entity_t *e = find(r, "Minsk", &m);
    assert_non_null(e);
    assert_int_equal(m->turn, RESULT_NO_TURN);
    e = find(r, "Mamin", &m);
    assert_non_null(e);
    assert_string_equal(e->name, "Askar Mamin");
    assert_int_equal(m->turn, 0);
    e = find(r, "Mishustin", &m);
    assert_string_equal(e->name, "Mikhail Mishustin");
    assert_int_equal(m->turn, 1);
    result_destroy(&r);
    extract_destroy(&ex);
}

static void
test_listed_names_coordinated(void **state)
{
    (void)state;
    /* two complete listed names joined by "and" stay two */
    const char *s = "Ann Smith: Both Sberbank and Russian Railways signed, as "
                    "did the Bank of Russia and Aeroflot. Trade between "
                    "Kazakhstan and China, and Omsk and Omsk Region too. "
                    "The Ministry of Industry and Trade agreed, and so did "
                    "Bosnia and Herzegovina.\n";
    result_t *r = scan(s);
    expect(r, s, "Sberbank", RESULT_ORG);
    expect(r, s, "Russian Railways", RESULT_ORG);
    expect(r, s, "Bank of Russia", RESULT_ORG);
    expect(r, s, "Aeroflot", RESULT_ORG);
    expect(r, s, "Kazakhstan", RESULT_GPE);
    expect(r, s, "China", RESULT_GPE);
    expect(r, s, "Omsk Region", RESULT_GPE);
    /* one name with "and" inside is still one */
    expect(r, s, "Ministry of Industry and Trade", RESULT_ORG);
    expect(r, s, "Bosnia and Herzegovina", RESULT_GPE);
    expect_none(r, "Sberbank and Russian Railways");
    expect_none(r, "Bank of Russia and Aeroflot");
    result_destroy(&r);
}

static void
test_continental_demonyms(void **state)
{
    (void)state;
    const char *s = "Ann Smith: South American and Southeast Asian buyers, "
                    "an Eastern European view and North African ports.\n";
    result_t *r = scan(s);
    expect(r, s, "South American", RESULT_NORP);
    expect(r, s, "Southeast Asian", RESULT_NORP);
    expect(r, s, "Eastern European", RESULT_NORP);
    expect(r, s, "North African", RESULT_NORP);
    expect_none(r, "South");
    expect_none(r, "Asian");
    result_destroy(&r);
}

/* An acronym defined after a typed name names the same kind of body
 * wherever it stands alone; one that does not start with the name's first
 * letter, or after a person, is no definition. */
static void
test_acronyms_defined(void **state)
{
    (void)state;
    const char *s =
        "Ann Smith: The Northern Fuel Agency (NFA) met the Volga Shipping "
        "Company (VSC). Later NFA and VSC signed, Ivan Petrov (IPX) "
        "spoke, and the Ural Grain Union (QTR) left. QTR and IPX were "
        "absent.\n";
    result_t *r = scan(s);
    expect(r, s, "Northern Fuel Agency", RESULT_ORG);
    const char *later = strstr(s, "Later");
    const result_mention_t *m = NULL;
    const result_entity_t *e = find(r, "NFA", &m);
    assert_non_null(e);
    assert_int_equal(e->type, RESULT_ORG);
    size_t hits = 0;
    for (size_t i = 0; i < e->n_mentions; i++)
        if (e->mentions[i].start == (uint32_t)(strstr(later, "NFA") - s))
            hits++;
    assert_int_equal(hits, 1);
    expect(r, s, "VSC", RESULT_ORG);
    expect_none(r, "IPX");
    expect_none(r, "QTR");
    result_destroy(&r);
}

/* Once a name is typed in the document, its bare mentions take the type:
 * the name before a head noun ("Karvel" of "Karvel Holding"), but not an
 * adjective ("Olympic" of "Olympic Committee") nor a word the text also
 * writes in lower case ("Tax" of "Tax Service"). */
static void
test_type_propagation(void **state)
{
    (void)state;
    const char *s =
        "Ann Smith: The Karvel Holding and the Olympic Committee met the "
        "Tax Service on tax. We asked Karvel and the Olympic team; Tax "
        "officials too. The Lesna River floods; the Lesna is high.\n";
    result_t *r = scan(s);
    expect(r, s, "Karvel Holding", RESULT_ORG);
    const char *k2 = strstr(strstr(s, "asked"), "Karvel");
    const result_mention_t *m = NULL;
    const result_entity_t *e = NULL;
    for (size_t i = 0; i < r->n_entities && !m; i++)
        for (size_t j = 0; j < r->entities[i].n_mentions; j++)
            if (r->entities[i].mentions[j].start == (uint32_t)(k2 - s)) {
                m = &r->entities[i].mentions[j];
                e = &r->entities[i];
            }
    assert_non_null(m);
    assert_int_equal(e->type, RESULT_ORG);
    assert_string_equal(m->text, "Karvel");
    expect_none(r, "Olympic");
    expect_none(r, "Tax");
    expect(r, s, "Lesna River", RESULT_LOC);
    e = find(r, "Lesna", NULL);
    assert_non_null(e);
    assert_int_equal(e->type, RESULT_LOC);
    result_destroy(&r);
}

/* Places by context: an unknown name before "field", "deposit" (maybe
 * after "gas", "oil"), the name before a head ("X River", "X Region"),
 * a coordination closed by a plural place noun; a sentence's first word
 * before such a noun is no name. */
static void
test_places_by_context(void **state)
{
    (void)state;
    const char *s =
        "Ann Smith: Work began at the Yurkino field and the Tarsk gas "
        "condensate field, near the Belsky deposit, in Lomov Region and on "
        "the Vesha River. The Orlovo and Kamenka fields grew. Major "
        "deposits opened.\n";
    result_t *r = scan(s);
    expect(r, s, "Yurkino", RESULT_LOC);
    expect(r, s, "Tarsk", RESULT_LOC);
    expect(r, s, "Belsky", RESULT_LOC);
    expect(r, s, "Lomov Region", RESULT_GPE);
    expect(r, s, "Vesha River", RESULT_LOC);
    expect(r, s, "Orlovo", RESULT_LOC);
    expect(r, s, "Kamenka", RESULT_LOC);
    expect_none(r, "Major");
    result_destroy(&r);
}

/* Organisations by their head noun, with names nobody listed. */
static void
test_org_heads(void **state)
{
    (void)state;
    const char *s =
        "Ann Smith: Pelikan Airline, the Zorin Choir, the Kazimir Theatre "
        "troupe, Vostok Technical University, the Ministry of Fisheries and "
        "the Tarusa Philharmonic joined the Norsk Mining Corporation.\n";
    result_t *r = scan(s);
    expect(r, s, "Pelikan Airline", RESULT_ORG);
    expect(r, s, "Zorin Choir", RESULT_ORG);
    expect(r, s, "Vostok Technical University", RESULT_ORG);
    expect(r, s, "Ministry of Fisheries", RESULT_ORG);
    expect(r, s, "Tarusa Philharmonic", RESULT_ORG);
    expect(r, s, "Norsk Mining Corporation", RESULT_ORG);
    result_destroy(&r);
}

/* Unknown names typed by an office in an organisation ("President of X",
 * "X CEO") or a noun after them ("the X company", "the X shipyard"); known
 * places stay places and board names are no organisations. */
static void
test_org_by_context(void **state)
{
    (void)state;
    const char *s =
        "Ann Smith: We met the President of Korvex Nikolai Orlov, the "
        "Chairman of the Management Board, the President of the United "
        "States. Then Belvar CEO Oleg Ivanov spoke. The Tarmin transport "
        "company "
        "and the Zolva shipyard grew, and the Komsomolsk plant too.\n";
    result_t *r = scan(s);
    expect(r, s, "Korvex", RESULT_ORG);
    expect(r, s, "Belvar", RESULT_ORG);
    expect(r, s, "Tarmin", RESULT_ORG);
    expect(r, s, "Zolva", RESULT_FAC);
    expect(r, s, "Komsomolsk", RESULT_GPE);
    expect(r, s, "United States", RESULT_GPE);
    expect(r, s, "Nikolai Orlov", RESULT_PERSON);
    expect_none(r, "Management Board");
    expect_none(r, "Management");
    result_destroy(&r);
}

/* An unknown word after "in" or "near" is a place unless it is a date,
 * a common noun's or adjective's ending, hyphenated with a known name or
 * a date, a company's name, or a word also written in lower case. */
static void
test_unknown_place_after_in(void **state)
{
    (void)state;
    const char *s =
        "Ann Smith: We met in Tarkovo and near Belyi Yar, in May, in "
        "May-June, in Science (science matters), in Nazism, in "
        "Russian-language media, in Olympic sport, in Lenneft, in Ozd.\n";
    result_t *r = scan(s);
    expect(r, s, "Tarkovo", RESULT_GPE);
    expect_none(r, "May");
    expect_none(r, "May-June");
    expect_none(r, "Science");
    expect_none(r, "Nazism");
    expect_none(r, "Olympic");
    expect(r, s, "Lenneft", RESULT_ORG);
    expect_none(r, "Ozd");
    result_destroy(&r);
}

/* A known nationality or place joined by a hyphen to lower-case words is
 * a mention of it; an unknown one is not. */
static void
test_hyphen_lowercase(void **state)
{
    (void)state;
    const char *s = "Ann Smith: Russian-made engines, a Moscow-based firm "
                    "and Zorvian-made parts.\n";
    result_t *r = scan(s);
    expect(r, s, "Russian", RESULT_NORP);
    expect(r, s, "Moscow", RESULT_GPE);
    expect_none(r, "Zorvian");
    expect_none(r, "Russian-made");
    result_destroy(&r);
}

static void
test_pipeline_system(void **state)
{
    (void)state;
    /* a name, not a rule: data/fac.txt lists it */
    const char *s = "Ann Smith: The Baltic Pipeline System's load grew; the "
                    "Unified Energy System too.\n";
    result_t *r = scan(s);
    expect(r, s, "Baltic Pipeline System", RESULT_FAC);
    expect(r, s, "Unified Energy System", RESULT_ORG);
    expect_none(r, "Baltic");
    result_destroy(&r);
}

/* entities_scan looks a lower-case word up as a plural head only when it
 * ends in 's': every PLURAL_<T> entry of the gazetteer lists must. */
static void
test_plural_heads_end_in_s(void **state)
{
    (void)state;
    const char *dir = EXCERPT_SOURCE_DIR "/engine/data";
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t plurals = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".txt") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char line[512];
        bool plural = false;
        while (fgets(line, sizeof line, f)) {
            size_t n = strcspn(line, "\r\n");
            while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
                n--;
            line[n] = '\0';
            if (strncmp(line, "#!kind=", 7) == 0) {
                plural = strncmp(line + 7, "PLURAL_", 7) == 0;
                continue;
            }
            if (!plural || !n || line[0] == '#')
                continue;
            if ((line[n - 1] | 0x20) != 's')
                fail_msg("%s: plural head \"%s\" does not end in s", path,
                         line);
            /* listed, so a key (merged kinds may have dropped PLURAL) */
            assert_non_null(gaz_find(lexicon_builtin(), tok_hash(line, n)));
            plurals++;
        }
        fclose(f);
    }
    closedir(d);
    assert_true(plurals > 0);
}

static void
test_hostile(void **state)
{
    (void)state;
    result_t *r = scan_n("", 0);
    assert_int_equal(r->n_entities, 0);
    result_destroy(&r);
    const char nul[] = "Russia\0Kazakhstan \0Mr\0 Sergei\xff\xfe Ivanov \xc3";
    r = scan_n(nul, sizeof nul - 1);
    assert_non_null(find(r, "Russia", NULL));
    assert_non_null(find(r, "Kazakhstan", NULL));
    result_destroy(&r);
    const char trunc[] = "Moscow and \xe2\x80";
    r = scan_n(trunc, sizeof trunc - 1);
    assert_non_null(find(r, "Moscow", NULL));
    result_destroy(&r);
    /* a run longer than the run buffer */
    char run[4000] = "";
    for (int i = 0; i < 300; i++)
        strcat(run, "Ivanov ");
    r = scan(run);
    result_destroy(&r);
}

static void
test_huge_line(void **state)
{
    (void)state;
    size_t len = 50u << 20;
    char *s = malloc(len);
    assert_non_null(s);
    const char *pat = "Mr Lebedev met Russian partners in Minsk and ";
    size_t pl = strlen(pat);
    for (size_t i = 0; i < len; i++)
        s[i] = pat[i % pl];
    result_t *r = result_new();
    entities_scan(ent, s, len, r);
    result_finish(r);
    assert_int_equal(r->n_entities, 3);
    size_t total = 0;
    for (size_t i = 0; i < r->n_entities; i++)
        total += r->entities[i].n_mentions;
    assert_true(total >= 3 * (len / pl));
    result_destroy(&r);
    /* one word of 50 MB, and 50 MB of capitals */
    memset(s, 'a', len);
    s[0] = 'A';
    r = result_new();
    entities_scan(ent, s, len, r);
    assert_int_equal(r->n_entities, 0);
    result_destroy(&r);
    for (size_t i = 0; i < len; i++)
        s[i] = i % 2 ? ' ' : 'Q';
    r = result_new();
    entities_scan(ent, s, len, r);
    result_destroy(&r);
    free(s);
}

/* A listed name with a possessive word inside a title's complement. */
static void
test_title_possessive_name(void **state)
{
    (void)state;
    const char *s = "The talks began with President of the People's Republic "
                    "of China Xi Jinping in the morning.\n";
    result_t *r = scan(s);
    expect(r, s, "People's Republic of China", RESULT_GPE);
    expect(r, s, "Xi Jinping", RESULT_PERSON);
    expect_none(r, "Republic of China");
    result_destroy(&r);
}

/* An unknown word after "in" is a town unless a person of the document
 * bears it as a surname. */
static void
test_unknown_place_surname(void **state)
{
    (void)state;
    const char *s = "Donald Trump called on Friday. Nobody invested in Trump "
                    "hotels, and the new school opened in Rzhev.\n";
    result_t *r = scan(s);
    const result_mention_t *m = NULL;
    const result_entity_t *e = find(r, "Trump", &m);
    assert_non_null(e);
    assert_int_equal(e->type, RESULT_PERSON);
    expect(r, s, "Rzhev", RESULT_GPE);
    result_destroy(&r);
}

/* The unknown name before a university or a court is a place's name: it
 * does not make an organisation of its other mentions. */
static void
test_place_named_heads(void **state)
{
    (void)state;
    const char *s = "Graduates of the Tembria State University and the "
                    "Tembria Court were there. We know what Tembria "
                    "farmers need.\n";
    result_t *r = scan(s);
    expect(r, s, "Tembria State University", RESULT_ORG);
    expect(r, s, "Tembria Court", RESULT_ORG);
    const result_entity_t *e = find(r, "Tembria", NULL);
    assert_true(!e || e->type != RESULT_ORG);
    result_destroy(&r);
}

/* Before "regions" a listed non-political place keeps LOC unless it also
 * names a region; before a plant, a region's name is GPE. */
static void
test_regions_of_places(void **state)
{
    (void)state;
    const char *s = "Investors now come to the Arctic regions and to the Far "
                    "East regions, and the Amur and Tomsk regions grow. The "
                    "third unit of the Rostov nuclear power plant is ready.\n";
    result_t *r = scan(s);
    expect(r, s, "Arctic", RESULT_LOC);
    expect(r, s, "Far East", RESULT_LOC);
    expect(r, s, "Amur", RESULT_GPE);
    expect(r, s, "Tomsk", RESULT_GPE);
    expect(r, s, "Rostov", RESULT_GPE);
    result_destroy(&r);
}

/* A given name the lists lack before a surname with a surname's ending
 * is a person; an adjective before such a word is not a given name. */
static void
test_unknown_given_name(void **state)
{
    (void)state;
    const char *s = "The medal went to Ilgizar Nurtdinov, a welder. Later "
                    "Mr Nurtdinov thanked the Central Kalinovsky team and "
                    "Academician Zheltukhin.\n";
    result_t *r = scan(s);
    expect(r, s, "Ilgizar Nurtdinov", RESULT_PERSON);
    expect(r, s, "Zheltukhin", RESULT_PERSON);
    expect_none(r, "Central Kalinovsky");
    expect_none(r, "Academician Zheltukhin");
    result_destroy(&r);
}

/* An unknown name in capitals before "company" or "plant" takes its type
 * like a capitalised one; short acronyms there are no names. */
static void
test_caps_name_before_noun(void **state)
{
    (void)state;
    const char *s = "Then we visited the KRASTEK company and its new LNG "
                    "plant near the sea.\n";
    result_t *r = scan(s);
    expect(r, s, "KRASTEK", RESULT_ORG);
    expect_none(r, "LNG");
    result_destroy(&r);
}

/* Federal districts are GPE; troops, boards of a listed body and the
 * Prosecutor's Office are organisations. */
static void
test_districts_troops_boards(void **state)
{
    (void)state;
    const char *s = "The governors of the Siberian Federal District met. "
                    "The Railway Troops helped, and the Prosecutor's Office "
                    "reported to the Interior Ministry Board. Ugolmontazh "
                    "won the tender.\n";
    result_t *r = scan(s);
    expect(r, s, "Siberian Federal District", RESULT_GPE);
    expect(r, s, "Railway Troops", RESULT_ORG);
    expect(r, s, "Prosecutor's Office", RESULT_ORG);
    expect(r, s, "Interior Ministry Board", RESULT_ORG);
    expect(r, s, "Ugolmontazh", RESULT_ORG);
    result_destroy(&r);
}

/* An office's "of" complement of a nationality and one unknown word is
 * the organisation ("President of Russian Platinum"). */
static void
test_office_of_norp_name(void **state)
{
    (void)state;
    const char *s = "He met with the President of Russian Tungsten Ivan "
                    "Petrov.\n";
    result_t *r = scan(s);
    expect(r, s, "Russian Tungsten", RESULT_ORG);
    expect(r, s, "Ivan Petrov", RESULT_PERSON);
    expect_none(r, "Russian");
    result_destroy(&r);
}

/* "the town of X" and "X in the Y Region" make an unknown name a GPE; a
 * surname at a sentence start and an event before "in" do not. */
static void
test_towns_by_context(void **state)
{
    (void)state;
    const char *s =
        "The builders came from the village of Verkhnyaya "
        "Zarechka. New schools opened in Pskov, Berezovka in the "
        "Tver Region and Izborsk. Sidorov in the Tver Region agreed. "
        "The Spartakiad in Kazan ends today.\n";
    result_t *r = scan(s);
    expect(r, s, "Verkhnyaya Zarechka", RESULT_GPE);
    expect(r, s, "Berezovka", RESULT_GPE);
    expect(r, s, "Tver Region", RESULT_GPE);
    const result_entity_t *e = find(r, "Sidorov", NULL);
    assert_true(!e || e->type != RESULT_GPE);
    expect_none(r, "Spartakiad");
    result_destroy(&r);
}

/* A listed town that is also a given name is a place only with a sign of
 * one (a place preposition, a listed place beside it in a list); else,
 * as in an address or a remark about a colleague, it is a person. */
static void
test_town_or_given_name(void **state)
{
    (void)state;
    const char *person[] = {
        "Jean Dupont: Thank you, dear Vladimir. We agreed on the plan.\n",
        "Jean Dupont: Vladimir and I discussed the plan at length.\n",
    };
    for (size_t i = 0; i < 2; i++) {
        result_t *r = scan(person[i]);
        expect(r, person[i], "Vladimir", RESULT_PERSON);
        result_destroy(&r);
    }
    const char *place[] = {
        "Anna Orlova: The new plant in Vladimir makes engines.\n",
        "Anna Orlova: Roads will link Tver, Vladimir and Kaluga.\n",
    };
    for (size_t i = 0; i < 2; i++) {
        result_t *r = scan(place[i]);
        expect(r, place[i], "Vladimir", RESULT_GPE);
        result_destroy(&r);
    }
}

/* Facilities by the lower-case noun after an unknown name, through up to
 * two modifiers ("the X tunnel", "the X thermal power station"); a listed
 * name ending the run is kept whole ("the South Stream pipeline"), and a
 * hyphenated pair before a kind of line stays one line with its noun. */
static void
test_facility_nouns(void **state)
{
    (void)state;
    const char *s =
        "Ann Smith: Trains use the Dolgansky tunnel, jets the Varmik "
        "airbase, and the Ostrova thermal power station was opened. The "
        "South Stream pipeline and the Lunov-Tarsk pipeline are ready.\n";
    result_t *r = scan(s);
    expect(r, s, "Dolgansky", RESULT_FAC);
    expect(r, s, "Varmik", RESULT_FAC);
    expect(r, s, "Ostrova", RESULT_FAC);
    expect(r, s, "South Stream", RESULT_FAC);
    expect(r, s, "Lunov-Tarsk pipeline", RESULT_FAC);
    expect_none(r, "Stream");
    result_destroy(&r);
}

/* Macro-regions of data/loc.txt, with or without "the". */
static void
test_macro_regions(void **state)
{
    (void)state;
    const char *s = "Ann Smith: Pay rises in the Far North and the "
                    "Trans-Urals, north of the Arctic Circle.\n";
    result_t *r = scan(s);
    expect(r, s, "Far North", RESULT_LOC);
    expect(r, s, "Trans-Urals", RESULT_LOC);
    expect(r, s, "Arctic Circle", RESULT_LOC);
    result_destroy(&r);
    s = "Ann Smith: Tajikistani and Argentinean firms work in the Russian "
        "Arctic.\n";
    r = scan(s);
    expect(r, s, "Tajikistani", RESULT_NORP);
    expect(r, s, "Argentinean", RESULT_NORP);
    expect(r, s, "Russian Arctic", RESULT_LOC);
    result_destroy(&r);
}

/* A hyphenated word of listed places splits into them, non-political
 * places included, also after an unknown capitalised word. */
static void
test_hyphen_places(void **state)
{
    (void)state;
    const char *s = "Ann Smith: Before the Russia-Africa summit we spoke of "
                    "the Volga-Kama basin at the Ninth Russia-Kazakhstan "
                    "Forum.\n";
    result_t *r = scan(s);
    expect(r, s, "Russia", RESULT_GPE);
    expect(r, s, "Africa", RESULT_LOC);
    expect(r, s, "Volga", RESULT_LOC);
    expect(r, s, "Kama", RESULT_LOC);
    expect(r, s, "Kazakhstan", RESULT_GPE);
    expect_none(r, "Ninth Russia-Kazakhstan Forum");
    result_destroy(&r);
}

/* A number right after a run ends a listed name when the gazetteer has
 * it ("Nord Stream 2"); other numbers end the run. Abbreviated plant
 * heads ("NPP", "HPP") make facilities. */
static void
test_listed_name_number(void **state)
{
    (void)state;
    const char *s = "Ann Smith: Blue Stream 3 works, Nord Stream 2 is built "
                    "and the Kostrova NPP with Belaya HPP run; Gazprom 5 "
                    "said so.\n";
    result_t *r = scan(s);
    expect(r, s, "Nord Stream 2", RESULT_FAC);
    expect(r, s, "Blue Stream", RESULT_FAC);
    expect(r, s, "Kostrova NPP", RESULT_FAC);
    expect(r, s, "Belaya HPP", RESULT_FAC);
    expect(r, s, "Gazprom", RESULT_ORG);
    expect_none(r, "Gazprom 5");
    result_destroy(&r);
}

/* A particle joined to a name by a hyphen ("al-", "el-") continues a
 * person's name or stands for it after an honorific; a lower-case
 * hyphenated word that is no such name ends the run. */
static void
test_particle_names(void **state)
{
    (void)state;
    const char *s = "Ann Smith: We thanked Mr al-Rahim, then met Bashar "
                    "al-Rahim in Damascus. Sergei Ivanov well-known for "
                    "it came too.\n";
    result_t *r = scan(s);
    expect(r, s, "Bashar al-Rahim", RESULT_PERSON);
    expect(r, s, "al-Rahim", RESULT_PERSON);
    expect(r, s, "Sergei Ivanov", RESULT_PERSON);
    expect_none(r, "Sergei Ivanov well-known");
    result_destroy(&r);
}

/* A head phrase takes a "No. N" after it ("Hospital No. 40", "School
 * No.7"); "Corps" is the head of a body. */
static void
test_numbered_bodies(void **state)
{
    (void)state;
    const char *s = "Ann Smith: Doctors of Tarsk City Hospital No. 40 and "
                    "Lensk School No.7 thanked the Volna Engineering Corps. "
                    "No. 5 was next.\n";
    result_t *r = scan(s);
    expect(r, s, "Tarsk City Hospital No. 40", RESULT_ORG);
    expect(r, s, "Lensk School No.7", RESULT_ORG);
    expect(r, s, "Volna Engineering Corps", RESULT_ORG);
    result_destroy(&r);
}

static void
test_plural_titles(void **state)
{
    (void)state;
    const char *s = "Ann Smith: Deputy Prime Ministers Viktoria Abramchenko, "
                    "Yury Borisov and Marat Khusnullin came. Head Physician "
                    "Denis Protsenko and Chief State Sanitary Physician Anna "
                    "Popova spoke.\n";
    result_t *r = scan(s);
    expect(r, s, "Viktoria Abramchenko", RESULT_PERSON);
    expect(r, s, "Yury Borisov", RESULT_PERSON);
    expect(r, s, "Anna Popova", RESULT_PERSON);
    expect_none(r, "Prime Ministers Viktoria");
    expect_none(r, "Physician");
    expect_none(r, "Sanitary Physician");
    result_destroy(&r);
}

static void
test_dotted_names(void **state)
{
    (void)state;
    const char *s = "Ann Smith: DOM.RF and VEB.RF will help, as will "
                    "Tarsk.RF. Nord Stream 1 works. Later Ivan Petrov "
                    "spoke.It was fine.\n";
    result_t *r = scan(s);
    expect(r, s, "DOM.RF", RESULT_ORG);
    expect(r, s, "VEB.RF", RESULT_ORG);
    expect(r, s, "Tarsk.RF", RESULT_ORG);
    expect(r, s, "Nord Stream 1", RESULT_FAC);
    expect(r, s, "Ivan Petrov", RESULT_PERSON);
    expect_none(r, "VEB");
    expect_none(r, "Later Ivan Petrov");
    expect_none(r, "spoke.It");
    result_destroy(&r);
}

static void
test_dash_bracket_names(void **state)
{
    (void)state;
    const char *s =
        "Ann Smith: The Republic of Sakha (Yakutia) and the Khanty-Mansi "
        "Autonomous Area \xE2\x80\x93 Yugra met the Pobeda (Victory) "
        "Organising Committee. Head of the Federal Service for Supervision "
        "of Consumer Rights Protection (Rospotrebnadzor) Anna Popova came. "
        "The Tarsk Region \xE2\x80\x93 Smith said so.\n";
    result_t *r = scan(s);
    expect(r, s, "Republic of Sakha (Yakutia)", RESULT_GPE);
    expect(r, s, "Khanty-Mansi Autonomous Area \xE2\x80\x93 Yugra", RESULT_GPE);
    expect(r, s, "Pobeda (Victory) Organising Committee", RESULT_ORG);
    expect(r, s, "Rospotrebnadzor", RESULT_ORG);
    expect(r, s, "Anna Popova", RESULT_PERSON);
    expect(r, s, "Tarsk Region", RESULT_GPE);
    expect_none(r, "Yakutia");
    expect_none(r, "Yugra");
    result_destroy(&r);
}

static void
test_roads_and_bases(void **state)
{
    (void)state;
    const char *s = "Ann Smith: The M11 motorway and the M-12 highway reach "
                    "Kant Air Base and Government House. An A4 piece and "
                    "the R2 resources.\n";
    result_t *r = scan(s);
    expect(r, s, "M11", RESULT_FAC);
    expect(r, s, "M-12", RESULT_FAC);
    expect(r, s, "Kant Air Base", RESULT_FAC);
    expect(r, s, "Government House", RESULT_FAC);
    expect_none(r, "A4");
    result_destroy(&r);
    s = "Ann Smith: The Tarsk and Lensk airports and the Moscow airports "
        "work.\n";
    r = scan(s);
    expect(r, s, "Tarsk", RESULT_FAC);
    expect(r, s, "Lensk", RESULT_FAC);
    expect(r, s, "Moscow", RESULT_GPE);
    expect_none(r, "R2");
    result_destroy(&r);
}

static void
test_document_subjects(void **state)
{
    (void)state;
    const char *s = "Ann Smith: The Declaration on Strategic Partnership and "
                    "the Agreement on the Tarsk Development Fund were signed "
                    "with the Tarsk Development Fund.\n";
    result_t *r = scan(s);
    expect_none(r, "Strategic Partnership");
    /* the body itself, outside the document's name */
    const result_entity_t *e = find(r, "Tarsk Development Fund", NULL);
    assert_non_null(e);
    assert_int_equal(e->type, RESULT_ORG);
    assert_int_equal(e->n_mentions, 1);
    result_destroy(&r);
}

static void
test_branch_head(void **state)
{
    (void)state;
    const char *s = "Ann Smith: The Siberian Branch of the Russian Academy of "
                    "Sciences joined Operation Olive Branch.\n";
    result_t *r = scan(s);
    expect(r, s, "Siberian Branch of the Russian Academy of Sciences",
           RESULT_ORG);
    expect_none(r, "Siberian");
    expect_none(r, "Olive Branch");
    expect_none(r, "Operation Olive Branch");
    result_destroy(&r);
}

static void
test_works_head(void **state)
{
    (void)state;
    const char *s = "Ann Smith: I visited the Tver Carriage Works and the "
                    "Baikonur Cosmodrome.\n";
    result_t *r = scan(s);
    expect(r, s, "Tver Carriage Works", RESULT_ORG);
    expect(r, s, "Baikonur Cosmodrome", RESULT_FAC);
    result_destroy(&r);
}

static void
test_possessive_common_head(void **state)
{
    (void)state;
    const char *s = "Ann Smith: Rosatom reported. The State Corporation's CEO "
                    "met the National Assembly.\n";
    result_t *r = scan(s);
    expect_none(r, "State Corporation");
    expect(r, s, "National Assembly", RESULT_ORG);
    result_destroy(&r);
}

static void
test_numbered_plant_heads(void **state)
{
    (void)state;
    const char *s = "Ann Smith: We opened the Yakutsk GRES-2 power station, "
                    "the Zaramagskaya HPP-1 and the Primorskaya TPP. The "
                    "Mayakovskaya TPP in the town of Gusev and Talakhovskaya "
                    "TPP are ready.\n";
    result_t *r = scan(s);
    expect(r, s, "Yakutsk GRES-2", RESULT_FAC);
    expect(r, s, "Zaramagskaya HPP-1", RESULT_FAC);
    expect(r, s, "Primorskaya TPP", RESULT_FAC);
    expect(r, s, "Mayakovskaya TPP", RESULT_FAC);
    expect(r, s, "Talakhovskaya TPP", RESULT_FAC);
    expect_none(r, "Yakutsk");
    expect_none(r, "Gusev and Talakhovskaya TPP");
    result_destroy(&r);
}

static void
test_two_word_heads(void **state)
{
    (void)state;
    const char *s = "Ann Smith: We flew from the Vostochny Space Launch "
                    "Centre over Kenozersky National Park to the Kurchatov "
                    "Research Centre.\n";
    result_t *r = scan(s);
    expect(r, s, "Vostochny Space Launch Centre", RESULT_FAC);
    expect(r, s, "Kenozersky National Park", RESULT_LOC);
    expect(r, s, "Kurchatov Research Centre", RESULT_ORG);
    result_destroy(&r);
}

static void
test_title_comma_list(void **state)
{
    (void)state;
    const char *s = "Ann Smith met Head of the Federal Service for Supervision "
                    "of Communications, Information Technology and Mass Media "
                    "Andrei Lipov.\n";
    result_t *r = scan(s);
    expect(r, s,
           "Federal Service for Supervision of Communications, Information "
           "Technology and Mass Media",
           RESULT_ORG);
    expect(r, s, "Andrei Lipov", RESULT_PERSON);
    expect_none(r, "Federal Service for Supervision of Communications");
    result_destroy(&r);
}

static void
test_kind_before_listed_name(void **state)
{
    (void)state;
    const char *s = "Ann Smith met Director General of State Atomic Energy "
                    "Corporation Rosatom Alexei Likhachev and the Development "
                    "Bank Forum.\n";
    result_t *r = scan(s);
    expect(r, s, "State Atomic Energy Corporation Rosatom", RESULT_ORG);
    expect(r, s, "Alexei Likhachev", RESULT_PERSON);
    expect_none(r, "Rosatom");
    expect_none(r, "Development Bank");
    result_destroy(&r);
}

static void
test_places_and_airlines(void **state)
{
    (void)state;
    const char *s = "Ann Smith: The flight to Mars, the Adler power station, "
                    "the Great Sevastopol Trail and General Director of "
                    "Aeroflot \xE2\x80\x93 Russian Airlines Vitaly Savelyev. "
                    "We met the Nordwind airlines.\n";
    result_t *r = scan(s);
    expect(r, s, "Mars", RESULT_LOC);
    expect(r, s, "Adler", RESULT_GPE);
    expect(r, s, "Great Sevastopol Trail", RESULT_LOC);
    expect(r, s, "Aeroflot \xE2\x80\x93 Russian Airlines", RESULT_ORG);
    expect(r, s, "Vitaly Savelyev", RESULT_PERSON);
    expect(r, s, "Nordwind", RESULT_ORG);
    expect_none(r, "Russian Airlines");
    result_destroy(&r);
}

static void
test_treaty_and_day_words(void **state)
{
    (void)state;
    const char *s = "Ann Smith: Russia ratified the Comprehensive Test Ban "
                    "Treaty. The altar is named after the main Christian Holy "
                    "Day. Ban Ki-moon came.\n";
    result_t *r = scan(s);
    expect_none(r, "Ban Treaty");
    expect_none(r, "Christian Holy Day");
    expect_none(r, "Christian Holy");
    expect(r, s, "Christian", RESULT_NORP);
    expect(r, s, "Ban Ki-moon", RESULT_PERSON);
    result_destroy(&r);
}

static void
test_hyphenated_titles(void **state)
{
    (void)state;
    const char *s = "Ann Smith: Deputy Vice-Rector Viktor Fomin met "
                    "Lieutenant-Commander Medvedev and Mr Minister-President. "
                    "Bloomberg's Executive Editor Rosalind Mathieson asked.\n";
    result_t *r = scan(s);
    expect(r, s, "Viktor Fomin", RESULT_PERSON);
    expect(r, s, "Medvedev", RESULT_PERSON);
    expect(r, s, "Rosalind Mathieson", RESULT_PERSON);
    expect_none(r, "Minister-President");
    expect_none(r, "Vice-Rector Viktor Fomin");
    result_destroy(&r);
}

static void
test_numbered_part_no_place(void **state)
{
    (void)state;
    const char *s = "Ann Smith: It is written in Item 8. She lies in Ward 21 "
                    "and was born in Rzhev.\n";
    result_t *r = scan(s);
    expect_none(r, "Item");
    expect_none(r, "Ward");
    expect(r, s, "Rzhev", RESULT_GPE);
    result_destroy(&r);
}

static void
test_place_head_no_on_complement(void **state)
{
    (void)state;
    const char *s = "Ann Smith: We signed it with the Argentine Republic on "
                    "Strategic Dialogue near Olkhon Island on Lake Baikal and "
                    "the Commission on Export Controls.\n";
    result_t *r = scan(s);
    expect(r, s, "Argentine Republic", RESULT_GPE);
    expect(r, s, "Olkhon Island", RESULT_LOC);
    expect(r, s, "Lake Baikal", RESULT_LOC);
    expect(r, s, "Commission on Export Controls", RESULT_ORG);
    result_destroy(&r);
}

static void
test_given_name_taliya(void **state)
{
    (void)state;
    const char *s = "Ann Smith met Co-Chair of the Working Group on the "
                    "Constitution Taliya Khabriyeva.\n";
    result_t *r = scan(s);
    expect(r, s, "Taliya Khabriyeva", RESULT_PERSON);
    result_destroy(&r);
}

static void
test_complement_preps(void **state)
{
    (void)state;
    /* one list of complement prepositions for a body's head and a title:
     * "on" opens a title's complement as it opens a body's */
    const lexicon_t *lx = lexicon_builtin();
    assert_true(lex_set_has(lx->complement_preps, "on", 2, tok_hash("on", 2)));
    assert_false(
        lex_set_has(lx->place_complement_preps, "on", 2, tok_hash("on", 2)));
    const char *s = "Ann Smith met Special Envoy on Syria Ivan Sidorov and "
                    "Chairman of the Committee on Ethics Ivan Petrov.\n";
    result_t *r = scan(s);
    const result_entity_t *e = expect(r, s, "Ivan Sidorov", RESULT_PERSON);
    assert_string_equal(e->role, "Special Envoy on Syria");
    expect(r, s, "Syria", RESULT_GPE);
    e = expect(r, s, "Ivan Petrov", RESULT_PERSON);
    assert_string_equal(e->role, "Chairman of the Committee on Ethics");
    expect(r, s, "Committee on Ethics", RESULT_ORG);
    result_destroy(&r);
}

/* A phrase the lists name as nothing is no item of a coordination closed
 * by a plural head: the World Cup is no region. */
static void
test_coordination_listed_nothing(void **state)
{
    (void)state;
    const char *s = "Ann Smith: The sun is shining in all the World Cup "
                    "regions and cities. We thank the Amur and Irkutsk "
                    "regions for the World Cup.\n";
    result_t *r = scan(s);
    expect_none(r, "World Cup");
    expect(r, s, "Amur", RESULT_GPE);
    expect(r, s, "Irkutsk", RESULT_GPE);
    result_destroy(&r);
}

/* A head after "and" in a body's complement is more of its subject
 * unless "the", a known name after "and" or a listed name before it make
 * a new body. */
static void
test_complement_and_head(void **state)
{
    (void)state;
    const char *s =
        "Ann Smith: She studies at the Russian Presidential Academy of "
        "National Economy and Public Administration. Rostov University of "
        "Railways and Astrakhan University met the leaders of the Russian "
        "Academy of Sciences and National Research Centre Kurchatov "
        "Institute.\n";
    result_t *r = scan(s);
    expect(r, s,
           "Russian Presidential Academy of National Economy and Public "
           "Administration",
           RESULT_ORG);
    expect_none(r, "Public Administration");
    expect(r, s, "Rostov University of Railways", RESULT_ORG);
    expect(r, s, "Astrakhan University", RESULT_ORG);
    expect(r, s, "Russian Academy of Sciences", RESULT_ORG);
    expect(r, s, "National Research Centre Kurchatov Institute", RESULT_ORG);
    result_destroy(&r);
}

/* A cathedral is a building (FAC), as the schema types named buildings. */
static void
test_cathedral_head(void **state)
{
    (void)state;
    const char *s = "Ann Smith: We visited the Cathedral of Christ the Saviour "
                    "and the Annunciation Cathedral in Kazan.\n";
    result_t *r = scan(s);
    expect(r, s, "Cathedral of Christ the Saviour", RESULT_FAC);
    expect(r, s, "Annunciation Cathedral", RESULT_FAC);
    expect(r, s, "Kazan", RESULT_GPE);
    result_destroy(&r);
}

/* Words between a listed title and a listed title or a noun of office
 * qualify the second ("Chief Financial Officer", "Deputy Supreme
 * Commander"): one role, and none of them a person. */
static void
test_qualified_titles(void **state)
{
    (void)state;
    const char *s =
        "Vladimir Putin: We heard Chief Financial Officer Tom Becker and "
        "the Chief Engineer Ivan Petrov. Acting Prime Minister Andrei "
        "Belousov and Deputy Supreme Commander Mohammed bin Zayed came. "
        "Women may enrol in the Warrant Officer Candidate School.\n";
    result_t *r = scan(s);
    const result_entity_t *e = expect(r, s, "Tom Becker", RESULT_PERSON);
    assert_string_equal(e->role, "Chief Financial Officer");
    e = expect(r, s, "Ivan Petrov", RESULT_PERSON);
    assert_string_equal(e->role, "Chief Engineer");
    e = expect(r, s, "Andrei Belousov", RESULT_PERSON);
    assert_string_equal(e->role, "Acting Prime Minister");
    expect(r, s, "Warrant Officer Candidate School", RESULT_ORG);
    expect_none(r, "Financial Officer Tom Becker");
    expect_none(r, "Engineer Ivan Petrov");
    expect_none(r, "Prime");
    expect_none(r, "Supreme");
    expect_none(r, "Candidate");
    result_destroy(&r);
}

/* A label that writes a known speaker's given name as an initial ("M.
 * Papchenkova:" after "Marina Papchenkova:") is a mention of that person
 * with the label's own words. */
static void
test_label_initial_mention(void **state)
{
    (void)state;
    const char *s = "Marina Papchenkova: Good afternoon.\n"
                    "Vladimir Putin: Hello.\n"
                    "M. Papchenkova: Thank you.\n";
    result_t *r = scan(s);
    expect(r, s, "M. Papchenkova", RESULT_PERSON);
    expect_none(r, "Papchenkova");
    result_destroy(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_and_titles),
        cmocka_unit_test(test_mr_propagation),
        cmocka_unit_test(test_flat_longest),
        cmocka_unit_test(test_coordination),
        cmocka_unit_test(test_capitalised_plural_head),
        cmocka_unit_test(test_hyphen_norp_places),
        cmocka_unit_test(test_complement_lists),
        cmocka_unit_test(test_complement_facility_noun),
        cmocka_unit_test(test_org_forms),
        cmocka_unit_test(test_title_place_unknown_name),
        cmocka_unit_test(test_unknown_towns),
        cmocka_unit_test(test_boards),
        cmocka_unit_test(test_world_places_norp),
        cmocka_unit_test(test_staff_head),
        cmocka_unit_test(test_listed_non_entity),
        cmocka_unit_test(test_place_noun_before_name),
        cmocka_unit_test(test_lines_between_places),
        cmocka_unit_test(test_sentence_initial),
        cmocka_unit_test(test_extract_run_crlf),
        cmocka_unit_test(test_listed_names_coordinated),
        cmocka_unit_test(test_continental_demonyms),
        cmocka_unit_test(test_pipeline_system),
        cmocka_unit_test(test_acronyms_defined),
        cmocka_unit_test(test_type_propagation),
        cmocka_unit_test(test_places_by_context),
        cmocka_unit_test(test_org_heads),
        cmocka_unit_test(test_org_by_context),
        cmocka_unit_test(test_unknown_place_after_in),
        cmocka_unit_test(test_hyphen_lowercase),
        cmocka_unit_test(test_plural_heads_end_in_s),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_huge_line),
        cmocka_unit_test(test_title_possessive_name),
        cmocka_unit_test(test_unknown_place_surname),
        cmocka_unit_test(test_place_named_heads),
        cmocka_unit_test(test_regions_of_places),
        cmocka_unit_test(test_unknown_given_name),
        cmocka_unit_test(test_caps_name_before_noun),
        cmocka_unit_test(test_districts_troops_boards),
        cmocka_unit_test(test_office_of_norp_name),
        cmocka_unit_test(test_towns_by_context),
        cmocka_unit_test(test_town_or_given_name),
        cmocka_unit_test(test_facility_nouns),
        cmocka_unit_test(test_macro_regions),
        cmocka_unit_test(test_hyphen_places),
        cmocka_unit_test(test_listed_name_number),
        cmocka_unit_test(test_particle_names),
        cmocka_unit_test(test_numbered_bodies),
        cmocka_unit_test(test_plural_titles),
        cmocka_unit_test(test_dotted_names),
        cmocka_unit_test(test_dash_bracket_names),
        cmocka_unit_test(test_roads_and_bases),
        cmocka_unit_test(test_document_subjects),
        cmocka_unit_test(test_branch_head),
        cmocka_unit_test(test_works_head),
        cmocka_unit_test(test_possessive_common_head),
        cmocka_unit_test(test_numbered_plant_heads),
        cmocka_unit_test(test_two_word_heads),
        cmocka_unit_test(test_title_comma_list),
        cmocka_unit_test(test_kind_before_listed_name),
        cmocka_unit_test(test_places_and_airlines),
        cmocka_unit_test(test_treaty_and_day_words),
        cmocka_unit_test(test_hyphenated_titles),
        cmocka_unit_test(test_numbered_part_no_place),
        cmocka_unit_test(test_place_head_no_on_complement),
        cmocka_unit_test(test_given_name_taliya),
        cmocka_unit_test(test_complement_preps),
        cmocka_unit_test(test_coordination_listed_nothing),
        cmocka_unit_test(test_complement_and_head),
        cmocka_unit_test(test_cathedral_head),
        cmocka_unit_test(test_qualified_titles),
        cmocka_unit_test(test_label_initial_mention),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
