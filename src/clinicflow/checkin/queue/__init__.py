"""The live queue of a location's clinic-local day: its order (`ordering`), the wait-time
estimates (`estimates`), reading it (`service`), moving entries through it (`moves`), the
periodic jobs (`tasks`) and the API (`routes`).

A check-in row (`checkin.models.CheckIn`) is the patient's place in the queue; its
`queue_status` moves

    waiting ─call_next─▶ called ─start─▶ in_consultation ─complete─▶ completed
    called ─recall─▶ called (announced again)       called ─no_show─▶ no_show
    waiting, called ─skip─▶ waiting (sent back)     waiting ─priority─▶ waiting
    waiting, called, in_consultation ─(end of the clinic day)─▶ closed

The appointment follows at `start` (checked_in → in_consultation), `complete` and `no_show`
(`scheduling.visits.advance`); it stays `checked_in` while its patient is called, so a called
patient who never comes is a no-show (docs/decisions.md, "The queue moves the appointment at
start").
"""
