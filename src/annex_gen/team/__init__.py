"""A team's shared state in the archive's PostgreSQL database, and the job queue over it.

With a postgresql:// archive, everything a team shares lives in one database: the archive
(`annex_archive`), contracts with every saved version, generated documents by document ID,
change runs and their progress (`annex_team`, this package's `schema`), and the job queue
(`annex_queue`, procrastinate's tables). `schema` creates and upgrades both with
`annex-gen archive migrate`; `contracts` and `documents` are the stores; `runs` plans a batch
into jobs and reads its progress; `notice_runs` does the same for change notices (and stores
them); `queue` is the procrastinate application and its worker.
A directory archive uses none of it.
"""
