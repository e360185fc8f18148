# R prophet 1.0 (Debian's r-cran-prophet) on the same files as the training bench, one fit after
# another in this process: the reference the exact solver is measured against.
#   Rscript test/bench/r-prophet.R <channel dir> <comma-separated ids> <forecast csv out> <horizon days> <reps>
# Fits every file `reps` times over in this one process (R and the library load once) and prints
# one line {"fits": n, "cpuSeconds": s} per repetition (process CPU time of the fits alone, reading
# the files and the library load excluded); writes each customer's forecast of the `horizon` days
# after its history.
suppressMessages(library(prophet))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
ids <- strsplit(args[2], ",")[[1]]
out <- args[3]
horizon <- as.integer(args[4])
reps <- as.integer(args[5])
frames <- lapply(ids, function(id) {
  d <- read.csv(file.path(dir, paste0(id, ".csv")))
  data.frame(ds = as.Date(substr(d$timestamp, 1, 10)), y = d$consumption)
})
fit <- function(df) prophet(df, yearly.seasonality = 4, weekly.seasonality = TRUE, daily.seasonality = FALSE, uncertainty.samples = 0)
# One untimed fit first: R prophet's first fit in a process loads the compiled Stan model (~1 s).
invisible(fit(frames[[1]]))
for (rep in seq_len(reps)) {
  cpu <- 0
  rows <- vector("list", length(ids))
  for (i in seq_along(ids)) {
    t0 <- proc.time()
    m <- fit(frames[[i]])
    t1 <- proc.time()
    cpu <- cpu + sum((t1 - t0)[c("user.self", "sys.self")])
    if (rep == reps) {
      fc <- predict(m, make_future_dataframe(m, periods = horizon, include_history = FALSE))
      rows[[i]] <- data.frame(id = ids[i], step = seq_len(horizon), yhat = fc$yhat)
    }
  }
  cat(sprintf('{"fits": %d, "cpuSeconds": %.4f}\n', length(ids), cpu))
}
write.csv(do.call(rbind, rows), out, row.names = FALSE)
