/*
 * template_fuzz: any template and any value, through template.h.
 *
 * The input is a template, then a NUL byte and a value (without a NUL: the template alone,
 * with a fixed value). A template that template_check() accepts renders as text and as HTML
 * with the value in every variable. In HTML the value never brings markup of its own: once
 * the <p>, </p> and <br> the renderer writes are taken out of the rendering of "{{x}}" for
 * each variable x, no '<', '>', '"' or '\'' is left.
 */
#include <string.h>

#include <glib.h>

#include "fuzz.h"
#include "template.h"

static const char *const template_fuzz_names[] = {"reply",     "sender_name", "original_subject",
                                                  "mailbox",   "date",        "summary",
                                                  "signature", "disclaimer"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void template_fuzz_all(struct template_values *values, const char *value)
{
    *values = (struct template_values){value, value, value, value, value, value, value, value};
}

/* The HTML rendering of the one variable NAME holds no markup but ours. */
static void template_fuzz_escaped(const char *name, const struct template_values *values)
{
    char *template = g_strdup_printf("{{%s}}", name);
    char *error = NULL;
    FUZZ_CHECK(template_check(template, &error) == 0);
    char *html = template_render(template, values, TRUE);
    GString *rest = g_string_new(NULL);
    for (const char *p = html; *p != '\0';) {
        if (g_str_has_prefix(p, "<p>") || g_str_has_prefix(p, "<br>"))
            p += p[1] == 'p' ? 3 : 4;
        else if (g_str_has_prefix(p, "</p>"))
            p += 4;
        else
            g_string_append_c(rest, *p++);
    }
    FUZZ_CHECK(strpbrk(rest->str, "<>\"'") == NULL);
    FUZZ_CHECK(g_utf8_validate(html, -1, NULL));
    g_string_free(rest, TRUE);
    g_free(html);
    g_free(template);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *input = fuzz_string(data, size);
    size_t template_len = strlen(input);
    const char *value = template_len < size ? input + template_len + 1 : "A <b>\"value\"</b>\n\n&";
    struct template_values values;
    template_fuzz_all(&values, value);
    char *error = NULL;
    if (template_check(input, &error) == 0) {
        g_free(template_render(input, &values, FALSE));
        char *html = template_render(input, &values, TRUE);
        FUZZ_CHECK(g_utf8_validate(html, -1, NULL) || !g_utf8_validate(input, -1, NULL));
        g_free(html);
    } else {
        FUZZ_CHECK(error != NULL);
        g_free(error);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(template_fuzz_names); i++)
        template_fuzz_escaped(template_fuzz_names[i], &values);
    g_free(input);
    return 0;
}
