/* The schema migrations of the library database, embedded at build time
 * from schema/NNN_name.sql by schema/embed.sh into schema/migrations.c. */
#ifndef MTAG_MIGRATIONS_H
#define MTAG_MIGRATIONS_H

/* mtag_migrations[i] is the SQL taking the schema from version i to i + 1;
 * it ends by setting PRAGMA user_version to i + 1. */
extern const char *const mtag_migrations[];
extern const int mtag_nmigrations;

#endif
