# R prophet 1.0 (Debian's r-cran-prophet) on the same files as the training bench, one fit after
# another in this process: the reference the exact solver is measured against.
#   Rscript test/bench/r-prophet.R <horizon days> <reps> <channel dir> <comma-separated ids> <forecast csv out or -> [<dir> <ids> <out> ...]
# Loads R and the library once for every data set given (loading prophet costs seconds of CPU),
# fits each set's files `reps` times over and prints one line {"set": k, "fits": n, "cpuSeconds": s}
# per set and repetition (process CPU time of the fits alone, reading the files and the library
# load excluded); writes each customer's forecast of the `horizon` days after its history to the
# set's csv (none for -). Exits 3 when the prophet package is not installed.
if (!nzchar(system.file(package = "prophet"))) {
  cat("the R package prophet is not installed\n")
  quit(status = 3)
}
suppressMessages(library(prophet))
args <- commandArgs(trailingOnly = TRUE)
horizon <- as.integer(args[1])
reps <- as.integer(args[2])
sets <- matrix(args[-(1:2)], nrow = 3)
fit <- function(df) prophet(df, yearly.seasonality = 4, weekly.seasonality = TRUE, daily.seasonality = FALSE, uncertainty.samples = 0)
read_set <- function(dir, ids) lapply(ids, function(id) {
  d <- read.csv(file.path(dir, paste0(id, ".csv")))
  data.frame(ds = as.Date(substr(d$timestamp, 1, 10)), y = d$consumption)
})
warmed <- FALSE
for (k in seq_len(ncol(sets))) {
  ids <- strsplit(sets[2, k], ",")[[1]]
  frames <- read_set(sets[1, k], ids)
  # One untimed fit first: R prophet's first fit in a process loads the compiled Stan model (~1 s).
  if (!warmed) invisible(fit(frames[[1]]))
  warmed <- TRUE
  for (rep in seq_len(reps)) {
    cpu <- 0
    rows <- vector("list", length(ids))
    for (i in seq_along(ids)) {
      t0 <- proc.time()
      m <- fit(frames[[i]])
      t1 <- proc.time()
      cpu <- cpu + sum((t1 - t0)[c("user.self", "sys.self")])
      if (rep == reps && sets[3, k] != "-") {
        fc <- predict(m, make_future_dataframe(m, periods = horizon, include_history = FALSE))
        rows[[i]] <- data.frame(id = ids[i], step = seq_len(horizon), yhat = fc$yhat)
      }
    }
    cat(sprintf('{"set": %d, "fits": %d, "cpuSeconds": %.4f}\n', k, length(ids), cpu))
  }
  if (sets[3, k] != "-") write.csv(do.call(rbind, rows), sets[3, k], row.names = FALSE)
}
