// Control planes started by test/support/botmox.ts run with DATA_BACKEND=supabase (a throwaway
// PostgreSQL 15 with the migrations behind the real PostgREST, one per test file).
process.env.BOTMOX_TEST_DATA_BACKEND = "supabase";
