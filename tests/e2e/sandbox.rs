//! Hostile plugins: the sandbox and fault isolation (issue 4).
