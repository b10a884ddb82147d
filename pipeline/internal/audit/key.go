package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The device key's files in the audit directory. The private key is
// readable by the service's user only (0600): whoever reads it can sign a
// new history. The public key beside it is what Verify uses by default; a
// copy kept off the box (the retained <prefix>/<device>/audit/key message)
// is what makes a replaced key visible.
const (
	KeyFile       = "audit-key.pem"
	PublicKeyFile = "audit-key.pub.pem"
)

// loadKey reads the device key, or creates it when the trail is new. A
// missing key beside existing segments is an error, never a new key: the
// old records could no longer be told apart from forged ones.
func loadKey(dir string, haveSegments bool) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, KeyFile)
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && haveSegments:
		return nil, fmt.Errorf("audit: %s is missing but the directory holds audit segments: restore the key, or move the segments to an archive (with %s) to start a new trail", path, PublicKeyFile)
	case errors.Is(err, fs.ErrNotExist):
		return createKey(dir)
	case err != nil:
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("audit: %s has mode %04o: the device key must be readable by the service only (chmod 600 %s)", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit: %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: %s: not an Ed25519 key", path)
	}
	pub := key.Public().(ed25519.PublicKey)
	switch got, err := ReadPublicKey(filepath.Join(dir, PublicKeyFile)); {
	case errors.Is(err, fs.ErrNotExist):
		if err := writePublicKey(dir, pub); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case !bytes.Equal(got, pub):
		return nil, fmt.Errorf("audit: %s is not the public key of %s", filepath.Join(dir, PublicKeyFile), path)
	}
	return key, nil
}

func createKey(dir string) (ed25519.PrivateKey, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("audit: create key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("audit: create key: %w", err)
	}
	path := filepath.Join(dir, KeyFile)
	// O_EXCL: two starts racing never overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: create key: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("audit: write %s: %w", path, err)
	}
	if err := writePublicKey(dir, pub); err != nil {
		return nil, err
	}
	return key, syncDir(dir)
}

func writePublicKey(dir string, pub ed25519.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, PublicKeyFile)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("audit: write %s: %w", path, err)
	}
	return nil
}

// ReadPublicKey reads a PEM Ed25519 public key (PublicKeyFile, or a copy
// kept elsewhere).
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("audit: %s: not a PEM public key", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit: %s: not an Ed25519 key", path)
	}
	return pub, nil
}

// Fingerprint is the SHA-256 (hex) of the public key's bytes.
func Fingerprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:])
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
