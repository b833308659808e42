# Additive increase, multiplicative decrease of the upload cap, decided per event in the datapath:
# grow the cap by 16 KiB/s every 50 ms while the socket keeps up; halve it when bytes pile up
# in front of the socket. The agent reads the cap in each report (and may set Rate itself).
(def (Report (volatile sent 0) (rate 0) (volatile cuts 0))
     (last_change 0))

(when true
  (:= Report.sent (+ Report.sent Event.sent))
  (fallthrough))

(when (and (> Flow.queue_bytes 262144) (> Rate 0))
  (:= Rate (max 16384 (/ Rate 2)))
  (:= Report.cuts (+ Report.cuts 1))
  (:= last_change Flow.age_us)
  (fallthrough))

(when (and Event.tick (> (- Flow.age_us last_change) 50000))
  (:= Rate (+ (max Rate 16384) 16384))
  (:= last_change Flow.age_us)
  (fallthrough))

(when (> Micros 250000)
  (:= Report.rate Rate)
  (report))
