# R prophet 1.0 (Debian's r-cran-prophet) on the same files as the training bench, one fit after
# another in this process: the reference the exact solver is measured against.
#   Rscript test/bench/r-prophet.R <channel dir> <comma-separated ids> <forecast csv out> <horizon days>
# Prints {"fits": n, "cpuSeconds": s} (process CPU time of the fits alone, library load excluded)
# and writes each customer's forecast of the `horizon` days after its history.
suppressMessages(library(prophet))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
ids <- strsplit(args[2], ",")[[1]]
out <- args[3]
horizon <- as.integer(args[4])
# One untimed fit first: R prophet's first fit in a process loads the compiled Stan model (~1 s).
warm <- read.csv(file.path(dir, paste0(ids[1], ".csv")))
invisible(prophet(data.frame(ds = as.Date(substr(warm$timestamp, 1, 10)), y = warm$consumption),
                  yearly.seasonality = 4, weekly.seasonality = TRUE, daily.seasonality = FALSE, uncertainty.samples = 0))
cpu <- 0
rows <- vector("list", length(ids))
for (i in seq_along(ids)) {
  d <- read.csv(file.path(dir, paste0(ids[i], ".csv")))
  df <- data.frame(ds = as.Date(substr(d$timestamp, 1, 10)), y = d$consumption)
  t0 <- proc.time()
  m <- prophet(df, yearly.seasonality = 4, weekly.seasonality = TRUE, daily.seasonality = FALSE, uncertainty.samples = 0)
  t1 <- proc.time()
  cpu <- cpu + sum((t1 - t0)[c("user.self", "sys.self")])
  fc <- predict(m, make_future_dataframe(m, periods = horizon, include_history = FALSE))
  rows[[i]] <- data.frame(id = ids[i], step = seq_len(horizon), yhat = fc$yhat)
}
write.csv(do.call(rbind, rows), out, row.names = FALSE)
cat(sprintf('{"fits": %d, "cpuSeconds": %.4f}\n', length(ids), cpu))
