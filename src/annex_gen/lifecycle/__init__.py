"""A customer's life after the annex is made: sending it, following it, objections, evidence.

`events` is the append-only, hash-chained log of what happened (messages queued, delivered or
refused, objections received and resolved), kept with the archive on both backends; `smtp` and
`messages` make and deliver the e-mails; `send` sends annexes and notices and retries; `timeline`
puts a customer's events in order and names their current state; `objections` records
objections against notices with their deadlines (`terms`); `evidence` packs it all for an auditor.
`cases` holds the use cases the CLI and the web application call.
"""
