package policy

import "strings"

// Identifying people is not a feature of edgeguard, disabled by default:
// it does not exist. A policy asking for it is wrong about the product, and
// the officer should learn that from the error, with the legal reason,
// rather than from "unknown field".
const (
	msgFace = "edgeguard has no face recognition: it is always off and cannot be switched on; remove it " +
		"(GDPR Art. 9: biometric data to identify a person is a special category; " +
		"EU AI Act Art. 5(1)(h) on real-time remote biometric identification in public spaces). " +
		"Faces are only ever covered, see anonymisation.faces"
	msgBiometric = "edgeguard processes no biometric data: it is always off and cannot be switched on; remove it " +
		"(GDPR Art. 9: biometric data to identify a person is a special category)"
	msgAttributes = "edgeguard does not estimate age, gender, ethnicity or other personal attributes: it is always off and cannot be switched on; remove it " +
		"(GDPR Art. 5(1)(c) data minimisation; Art. 9 for attributes that reveal special categories)"
	msgEmotion = "edgeguard does not recognise emotions: it is always off and cannot be switched on; remove it " +
		"(GDPR Art. 9; emotion recognition is a high-risk or prohibited practice under the EU AI Act)"
	msgReident = "edgeguard does not re-identify people: track ids exist only in memory for a few seconds, " +
		"are never stored and never leave the device: it is always off and cannot be switched on; remove it (GDPR Art. 5(1)(c), Art. 25)"
	msgPlates = "edgeguard does not read licence plates: it is always off and cannot be switched on; remove it (GDPR Art. 5(1)(c) data minimisation)"
)

// identityFeatures maps normalised names (lower case, no '_', '-' or
// spaces) to their explanation.
var identityFeatures = map[string]string{
	"facerecognition":            msgFace,
	"facialrecognition":          msgFace,
	"faceidentification":         msgFace,
	"faceid":                     msgFace,
	"faceids":                    msgFace,
	"facematching":               msgFace,
	"facecrops":                  msgFace,
	"facecrop":                   msgFace,
	"gesichtserkennung":          msgFace,
	"biometric":                  msgBiometric,
	"biometrics":                 msgBiometric,
	"biometricidentification":    msgBiometric,
	"biometricdata":              msgBiometric,
	"gaitrecognition":            msgBiometric,
	"demographics":               msgAttributes,
	"demographic":                msgAttributes,
	"age":                        msgAttributes,
	"ageestimation":              msgAttributes,
	"gender":                     msgAttributes,
	"sex":                        msgAttributes,
	"ethnicity":                  msgAttributes,
	"race":                       msgAttributes,
	"attributes":                 msgAttributes,
	"emotion":                    msgEmotion,
	"emotions":                   msgEmotion,
	"emotionrecognition":         msgEmotion,
	"sentiment":                  msgEmotion,
	"reidentification":           msgReident,
	"reid":                       msgReident,
	"personreidentification":     msgReident,
	"trackids":                   msgReident,
	"trackid":                    msgReident,
	"persistentids":              msgReident,
	"persistentid":               msgReident,
	"persistenttrackids":         msgReident,
	"crosscameratracking":        msgReident,
	"licenseplates":              msgPlates,
	"licenceplates":              msgPlates,
	"licenseplaterecognition":    msgPlates,
	"numberplates":               msgPlates,
	"anpr":                       msgPlates,
	"alpr":                       msgPlates,
	"kennzeichenerkennung":       msgPlates,
	"identification":             msgFace,
	"personidentification":       msgFace,
	"identifypersons":            msgFace,
	"wiedererkennung":            msgReident,
	"biometrischeidentifikation": msgBiometric,
}

// identityFeature returns the explanation if name (a key, event type or
// field) asks for identifying people, else "".
func identityFeature(name string) string {
	n := strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ', '.':
			return -1
		}
		return r
	}, strings.ToLower(name))
	return identityFeatures[n]
}

// identityKey is the yamlstrict KeyCheck: such keys are rejected wherever
// they appear, also nested under unknown keys.
func identityKey(_, key string) string { return identityFeature(key) }
