#!/usr/bin/env Rscript
## ---------------------------------------------------------------------------
## Reference fixtures for plausible values combined with design-based
## variances (R 4.2.2, survey 4.1-1, mitools 2.4).
##
## Run:   cd tests/reference && Rscript make_pv_fixtures.R
## Reads  data/synth.csv (made by make_fixtures.R) and the margin files.
## Writes data/synth_pv.csv (synth + five plausible values pv1..pv5, seeded)
##        expected/p_pv_combined.csv (the combined estimates, every case)
##        expected/p_pv_draws.csv    (each draw's estimate and variance)
##        expected/p_pv_gaps.csv     (a domain contrast, combined)
## Deterministic (set.seed before the one random step); number format as in
## make_fixtures.R (%.17g, NaN, Inf). See expected/CASES.md, section "p".
##
## For each case and domain: the outcome of draw m is q_m = 1{pv_m >= 0.5}
## (>=: a value exactly at the cut qualifies); survey::withPV runs
## svymean(~q, <domain subset>) once per draw and mitools::MIcombine
## combines them (Rubin 1987):
##   estimate = mean_m est_m, W = mean_m var_m, B = var(est_m) (divisor M-1),
##   T = W + (1 + 1/M) B, riv r = (1 + 1/M) B / W,
##   rubin_df = (M - 1) (1 + 1/r)^2                (MIcombine, df.complete=Inf)
## The engine's degrees of freedom are Barnard and Rubin (1999), written out
## here by hand from the paper, with the complete-data df nu = degf() of the
## domain subset of the Taylor design (PSUs minus strata with members):
##   gamma = (1 + 1/M) B / T,
##   df_obs = (nu + 1) / (nu + 3) * nu * (1 - gamma),
##   df = 1 / (1 / rubin_df + 1 / df_obs)          (rubin_df = Inf when B = 0)
##   fmi = (r + 2 / (df + 3)) / (r + 1)
## mitools' own small-sample df (`mitools_df`, MIcombine with df.complete =
## nu) uses W / (W + B) where the paper has 1 - gamma = W / T; it is written
## for comparison and is not what the engine reports.
## Intervals on the combined (estimate, se = sqrt(T), df), level 0.95:
##   wald:   estimate -/+ qt(0.975, df) se
##   logit:  expit(logit(p) -/+ qt(0.975, df) se / (p (1 - p)))
##   beta:   Korn-Graubard, effective n = p (1 - p) / T * (qt(.025, n - 1) /
##           qt(.025, df))^2, Clopper-Pearson on it (svyciprop's "beta")
##   wilson: Wilson score on the effective n p (1 - p) / T, normal quantile
## deff = mean over draws of svymean(..., deff = TRUE) (the design effect of
## the completed data; the imputation variance is not a design effect).
## ---------------------------------------------------------------------------

suppressPackageStartupMessages({
  library(survey)
  library(mitools)
})
stopifnot(packageVersion("survey") == "4.1.1")
if (!file.exists("make_pv_fixtures.R")) stop("run from tests/reference")
options(survey.lonely.psu = "adjust", warn = 1)

num17 <- function(x) {
  out <- sprintf("%.17g", as.double(x))
  out[is.na(x)] <- "NaN"
  out
}
write_fixture <- function(df, path) {
  out <- as.data.frame(df, stringsAsFactors = FALSE)
  for (nm in names(out)) {
    v <- out[[nm]]
    if (is.integer(v)) {
      v2 <- as.character(v); v2[is.na(v)] <- "NaN"; v <- v2
    } else if (is.numeric(v)) {
      v <- num17(v)
    } else {
      v <- as.character(v); v[is.na(v)] <- ""
    }
    out[[nm]] <- v
  }
  write.table(out, path, sep = ",", quote = FALSE, row.names = FALSE,
              col.names = TRUE, eol = "\n")
}

## ------------------------------------------------------------ the data --
## Ability depends on the respondent's groups; each respondent's posterior
## is normal with a standard deviation of 0.55 around a shrunken mean, and
## the five plausible values are draws from it.
M <- 5
CUT <- 0.5
synth <- read.csv("data/synth.csv", stringsAsFactors = FALSE)
set.seed(20261130)
n <- nrow(synth)
theta <- -0.2 + 0.35 * (synth$urban_rural == 1) + 0.15 * (synth$sex == 1) -
  0.1 * synth$age_group + rnorm(n)
post_sd <- 0.55
post_mean <- theta * (1 - post_sd^2) + rnorm(n, sd = post_sd * sqrt(1 - post_sd^2))
pv <- sapply(seq_len(M), function(m) post_mean + rnorm(n, sd = post_sd))
pv <- round(pv, 6)  # six decimals, as a score file would carry them
out <- synth[, c("id", "province", "psu", "weight", "fpc", "urban_rural", "sex", "age_group")]
for (m in seq_len(M)) out[[paste0("pv", m)]] <- pv[, m]
write.table(out, "data/synth_pv.csv", sep = ",", quote = FALSE, row.names = FALSE,
            col.names = TRUE, eol = "\n")
d <- read.csv("data/synth_pv.csv", stringsAsFactors = FALSE)
stopifnot(all(abs(as.matrix(d[, paste0("pv", 1:M)]) - pv) < 1e-12))
for (m in seq_len(M)) d[[paste0("q", m)]] <- as.numeric(d[[paste0("pv", m)]] >= CUT)
stopifnot(all(abs(as.matrix(d[, paste0("pv", 1:M)]) - CUT) > 1e-9))  # no ties

## ----------------------------------------------------------- the designs --
syn <- svydesign(ids = ~psu, strata = ~province, weights = ~weight, data = d)
syn_fpc <- svydesign(ids = ~psu, strata = ~province, weights = ~weight, fpc = ~fpc, data = d)
margin <- function(v) {
  m <- read.csv(sprintf("data/margin_%s.csv", v), stringsAsFactors = FALSE)
  out <- data.frame(m[[v]], m$total); names(out) <- c(v, "Freq"); out
}
raked <- rake(syn, list(~sex, ~urban_rural, ~age_group, ~province),
              list(margin("sex"), margin("urban_rural"), margin("age_group"),
                   margin("province")),
              control = list(maxit = 1000, epsilon = 1e-15, verbose = FALSE))
jkn <- local({
  old <- options(survey.lonely.psu = "certainty"); on.exit(options(old))
  as.svrepdesign(svydesign(ids = ~psu, strata = ~province, weights = ~weight, data = d),
                 type = "JKn")
})
## The complete-data df: degf() of the domain subset of the Taylor design.
taylor_of <- list(taylor = syn, taylor_fpc = syn_fpc, raked = syn, jkn = syn)
cases <- list(
  list(name = "taylor", design = syn, by = c("sex", "province"), lonely = "adjust"),
  list(name = "taylor_fpc", design = syn_fpc, by = "urban_rural", lonely = "adjust"),
  list(name = "raked", design = raked, by = "urban_rural", lonely = "adjust"),
  list(name = "jkn", design = jkn, by = "urban_rural", lonely = "certainty"))

expit <- function(x) 1 / (1 + exp(-x))
intervals <- function(p, se, df, n, level = 0.95) {
  a <- 1 - level
  t <- qt(1 - a / 2, df)
  m_kg <- p * (1 - p) / se^2 * (qt(a / 2, n - 1) / qt(a / 2, df))^2
  z <- qnorm(1 - a / 2)
  m_w <- p * (1 - p) / se^2
  z2m <- z^2 / m_w
  centre <- (p + z2m / 2) / (1 + z2m)
  half <- z / (1 + z2m) * sqrt(p * (1 - p) / m_w + z^2 / (4 * m_w^2))
  half_logit <- t * se / (p * (1 - p))
  list(wald = c(p - t * se, p + t * se),
       logit = expit(log(p / (1 - p)) + c(-half_logit, half_logit)),
       beta = c(qbeta(a / 2, m_kg * p, m_kg * (1 - p) + 1),
                qbeta(1 - a / 2, m_kg * p + 1, m_kg * (1 - p))),
       wilson = c(centre - half, centre + half))
}

rows <- list(); draws <- list()
for (cs in cases) {
  old <- options(survey.lonely.psu = cs$lonely)
  subsets <- list(list(var = "", label = "", idx = rep(TRUE, n)))
  for (b in cs$by) for (lab in sort(unique(d[[b]])))
    subsets[[length(subsets) + 1]] <- list(var = b, label = as.character(lab),
                                           idx = d[[b]] == lab)
  for (s in subsets) {
    des <- if (all(s$idx)) cs$design else subset(cs$design, s$idx)
    res <- withPV(q ~ q1 + q2 + q3 + q4 + q5, data = des,
                  action = quote(svymean(~q, des, deff = TRUE)))
    est_m <- sapply(res, function(r) unname(coef(r)))
    var_m <- sapply(res, function(r) unname(vcov(r)[1, 1]))
    deff_m <- sapply(res, function(r) unname(deff(r)))
    nu <- degf(if (all(s$idx)) taylor_of[[cs$name]] else subset(taylor_of[[cs$name]], s$idx))
    inf <- MIcombine(res)
    fin <- MIcombine(res, df.complete = nu)
    W <- mean(var_m); B <- var(est_m); Tv <- W + (1 + 1 / M) * B
    stopifnot(isTRUE(all.equal(unname(coef(inf)), mean(est_m), tolerance = 1e-14)),
              isTRUE(all.equal(unname(vcov(inf)[1, 1]), Tv, tolerance = 1e-14)))
    r <- (1 + 1 / M) * B / W
    rubin_df <- if (B > 0) (M - 1) * (1 + 1 / r)^2 else Inf
    stopifnot(isTRUE(all.equal(unname(inf$df), rubin_df, tolerance = 1e-13)))
    gamma <- (1 + 1 / M) * B / Tv
    df_obs <- (nu + 1) / (nu + 3) * nu * (1 - gamma)
    df <- 1 / (1 / rubin_df + 1 / df_obs)
    fmi <- (r + 2 / (df + 3)) / (r + 1)
    p <- unname(coef(inf)); se <- sqrt(unname(vcov(inf)[1, 1]))
    w <- weights(des, "sampling")
    nn <- sum(w != 0)
    ci <- intervals(p, se, df, nn)
    rows[[length(rows) + 1]] <- data.frame(
      case = cs$name, domain_variable = s$var, domain = s$label, m = M, cut = CUT,
      n = nn, weighted_total = sum(w), estimate = p, se = se,
      within = W, between = B, total_variance = Tv, riv = r, complete_df = nu,
      rubin_df = rubin_df, df = df, fmi = fmi,
      mitools_df = unname(fin$df), mitools_fmi = unname(fin$missinfo),
      deff = mean(deff_m),
      wald_low = ci$wald[1], wald_high = ci$wald[2],
      logit_low = ci$logit[1], logit_high = ci$logit[2],
      beta_low = ci$beta[1], beta_high = ci$beta[2],
      wilson_low = ci$wilson[1], wilson_high = ci$wilson[2],
      stringsAsFactors = FALSE)
    for (k in seq_len(M))
      draws[[length(draws) + 1]] <- data.frame(
        case = cs$name, domain_variable = s$var, domain = s$label, draw = k,
        estimate = est_m[k], variance = var_m[k], deff = deff_m[k],
        stringsAsFactors = FALSE)
  }
  options(old)
}
write_fixture(do.call(rbind, rows), "expected/p_pv_combined.csv")
write_fixture(do.call(rbind, draws), "expected/p_pv_draws.csv")

## ------------------------------------------------------ domain contrasts --
## sex 1 - sex 2 per draw (svyby with covmat = TRUE, svycontrast: the
## covariance of the two domains is included), combined by MIcombine; the
## complete-data df is degf() of the whole design (46), as for the engine's
## gaps; Barnard-Rubin df and fmi by hand as above; interval estimate -/+
## qt(0.975, df) se.
gaps <- list()
for (cs in cases[c(1, 4)]) {
  old <- options(survey.lonely.psu = cs$lonely)
  des <- cs$design
  res <- withPV(q ~ q1 + q2 + q3 + q4 + q5, data = des,
                action = quote(svycontrast(svyby(~q, ~sex, des, svymean, covmat = TRUE),
                                           c(1, -1))))
  est_m <- sapply(res, function(r) unname(coef(r)))
  var_m <- sapply(res, function(r) unname(vcov(r)[1, 1]))
  nu <- degf(syn)
  inf <- MIcombine(res)
  W <- mean(var_m); B <- var(est_m); Tv <- W + (1 + 1 / M) * B
  stopifnot(isTRUE(all.equal(unname(vcov(inf)[1, 1]), Tv, tolerance = 1e-14)))
  r <- (1 + 1 / M) * B / W
  rubin_df <- (M - 1) * (1 + 1 / r)^2
  df_obs <- (nu + 1) / (nu + 3) * nu * (1 - (1 + 1 / M) * B / Tv)
  df <- 1 / (1 / rubin_df + 1 / df_obs)
  p <- unname(coef(inf)); se <- sqrt(Tv)
  gaps[[length(gaps) + 1]] <- data.frame(
    case = cs$name, variable = "sex", a = "1", b = "2", estimate = p, se = se,
    within = W, between = B, total_variance = Tv, complete_df = nu,
    rubin_df = rubin_df, df = df, fmi = (r + 2 / (df + 3)) / (r + 1),
    ci_low = p - qt(0.975, df) * se, ci_high = p + qt(0.975, df) * se,
    stringsAsFactors = FALSE)
  options(old)
}
write_fixture(do.call(rbind, gaps), "expected/p_pv_gaps.csv")
