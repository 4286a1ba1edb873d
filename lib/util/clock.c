/*
 * clock: the real time, or the one a unit test fixed; see clock.h.
 */
#include <stdatomic.h>

#include <glib.h>

#include "clock.h"

/* The time a unit test fixed, in microseconds; 0 when the real clock counts. Atomic because
 * worker threads read the clock while a test may set it. */
static _Atomic gint64 clock_fixed_us;

gint64 clock_now_us(void)
{
    gint64 fixed = atomic_load(&clock_fixed_us);
    return fixed != 0 ? fixed : g_get_real_time();
}

gint64 clock_now(void)
{
    return clock_now_us() / G_USEC_PER_SEC;
}

GDateTime *clock_now_local(void)
{
    return g_date_time_new_from_unix_local(clock_now());
}

/* TIME formatted as FORMAT says, TIME unreferenced; NULL when TIME is NULL. */
static char *clock_format(GDateTime *time, const char *format)
{
    if (time == NULL)
        return NULL;
    char *text = g_date_time_format(time, format);
    g_date_time_unref(time);
    return text;
}

char *clock_format_local(gint64 seconds, const char *format)
{
    return clock_format(g_date_time_new_from_unix_local(seconds), format);
}

char *clock_format_utc(gint64 seconds, const char *format)
{
    return clock_format(g_date_time_new_from_unix_utc(seconds), format);
}

void clock_set_for_tests(gint64 unix_us)
{
    atomic_store(&clock_fixed_us, unix_us);
}
