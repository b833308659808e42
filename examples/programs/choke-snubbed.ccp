# Choke a peer that snubs us while we are still downloading, and cap what it gets while it gives
# nothing back ("give less for more"); report each decision once.
(def (Report (choked false) (volatile changes 0)))

(when (and Flow.snubbed (not Torrent.seeding) (not Choke))
  (:= Choke true)
  (:= Report.choked true)
  (:= Report.changes (+ Report.changes 1))
  (report))

(when (and (not Flow.snubbed) Choke)
  (:= Choke false)
  (:= Report.choked false)
  (:= Report.changes (+ Report.changes 1))
  (report))

(when (and (< Flow.rate_in 1024) (> Flow.age_us 30000000) (not Torrent.seeding))
  (:= Rate 8192))
