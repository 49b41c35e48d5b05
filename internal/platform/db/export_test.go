// SPDX-License-Identifier: AGPL-3.0-or-later

package db

// SwapModules replaces the registered modules for a test and returns a
// function that restores them. Tests using it must not run in parallel
// with tests that migrate.
func SwapModules(ms []Module) (restore func()) {
	modulesMu.Lock()
	old := modules
	modules = ms
	modulesMu.Unlock()
	return func() {
		modulesMu.Lock()
		modules = old
		modulesMu.Unlock()
	}
}

// CachedStatements is how many statements the SQLite cache holds.
func (db *DB) CachedStatements() int { return int(db.nstmts.Load()) }
