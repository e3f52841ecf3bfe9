// Package procstat reads figures about the running process that the
// benchmark commands print, from Linux's /proc.
package procstat
