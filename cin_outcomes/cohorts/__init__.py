"""Social care cohorts: who is in need, on a plan or looked after, at 31 March, at any point and in the last 6 years."""
