package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tmpPrefix starts every temporary file and directory name; model names
// and job ids cannot start with a dot, so they never collide with it.
const tmpPrefix = ".tmp-"

// WriteFileAtomic writes data to path so that a crash at any point leaves
// either the previous content of path or data, never a mix: it writes a
// temporary file in the same directory, fsyncs it, renames it over path and
// fsyncs the directory.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFileAtomic(path, data, perm, nil)
}

// writeFileAtomic is WriteFileAtomic with a hook run between the temporary
// write and the rename, which tests use to simulate a crash.
func writeFileAtomic(path string, data []byte, perm os.FileMode, beforeRename func(tmp string) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, tmpPrefix+base+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil && beforeRename == nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm)
	}
	if err == nil && beforeRename != nil {
		if err = beforeRename(tmp); err != nil {
			return err
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// syncDir fsyncs a directory so that renames and creations inside it are
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeTemps deletes leftovers of interrupted writes in dir and returns
// how many it removed. A missing dir is not an error.
func removeTemps(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
