# Report what moved to and from this peer every 100 ms, with a smoothed latency.
(def (Report
        (volatile sent 0)       # payload bytes uploaded since the last report
        (volatile recv 0)       # payload bytes downloaded since the last report
        (rtt 0))                # smoothed request→block latency, µs
     (samples 0))               # latency samples seen (state, never reported)

(when true
  (:= Report.sent (+ Report.sent Event.sent))
  (:= Report.recv (+ Report.recv Event.recv))
  (fallthrough))

# A block arrived with a latency sample: fold it into the average.
(when (> Event.latency_us 0)
  (:= Report.rtt (if (== samples 0) Event.latency_us (ewma 0.125 Report.rtt Event.latency_us)))
  (:= samples (+ samples 1))
  (fallthrough))

(when (>= Micros 100000)
  (report))
