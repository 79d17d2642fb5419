import Foundation
import Transport

/// The end of a session whose hospital asked for a signed report: both parties sign the same
/// statement (`ValidationStatement`) with their TLS keys and exchange signatures.
///
/// Steps, on the session's connection, after the opening:
/// 1. the hospital builds the statement from its own view, dated by its clock, signs its
///    canonical text and sends text and signature (`SessionMessage.ReportStatement`);
/// 2. the vendor decodes it, refuses a date more than `ValidationStatement.maximumClockSkew`
///    from its own clock, builds its own statement from its own view with the hospital's date, and
///    requires the two texts to be byte-equal (else it names the fields that differ);
/// 3. the vendor verifies the hospital's signature with the certificate the TLS channel
///    authenticated, signs the same bytes and returns its signature
///    (`SessionMessage.ReportCountersignature`), or its refusal with the reason;
/// 4. the hospital verifies the vendor's signature with the vendor's TLS certificate.
///
/// Reveals nothing new: the statement holds what both parties already know (public session
/// data, the opened metric, the certificates). Costs one round trip and one signature and one
/// verification per party. A failure ends only the report, never the result: the callers keep the
/// opened metric and record why no report was made (`ValidationResult.reportFailure`).
enum ReportExchange {
    /// Runs `exchange` and records its report, or why there is none, and its time in `result`.
    static func attach(to result: inout ValidationResult, _ exchange: () throws -> SignedReport) {
        let start = Date()
        do {
            result.report = try exchange()
        } catch {
            result.reportFailure = (error as? LocalizedError)?.errorDescription ?? "\(error)"
        }
        result.reportSeconds = Date().timeIntervalSince(start)
    }

    /// The hospital's steps 1 and 4.
    /// `pool`: the opening of that pool, as this aggregator holds its parts.
    static func hospital(on channel: any Channel, signer: ReportSigner, session: SessionStart, result: ValidationResult,
                         modelName: String, pool: PoolOpening? = nil) throws -> SignedReport {
        var statement = ValidationStatement(session: session, result: result, modelName: modelName, date: signer.clock(),
                                            vendorCertificate: signer.peerCertificate.fingerprint,
                                            hospitalCertificate: signer.ownFingerprint, pool: pool)
        signer.alterStatement?(&statement)
        let text = statement.canonicalText
        let own = try signer.sign(text)
        try SessionMessage.send(.statement(.init(statement: text, algorithm: own.algorithm, signature: own.signature)), on: channel)
        let answer = try SessionMessage.receiveCountersignature(on: channel)
        guard answer.signed, let algorithm = answer.algorithm, let signature = answer.signature else {
            throw ValidationError.reportNotSigned("the vendor did not sign the statement: \(answer.reason)")
        }
        guard let vendor = signer.peerEntry(algorithm: algorithm, signature: signature, over: text) else {
            throw ValidationError.reportNotSigned("the vendor's signature does not verify with the certificate it presented in TLS (\(signer.peerCertificate.fingerprint.prefix(16))…)")
        }
        return SignedReport(statementText: text, statement: statement, vendor: vendor, hospital: own)
    }

    /// The vendor's steps 2 and 3. Without `signer` it refuses (and says so to the hospital).
    /// `pool`: the opening of that pool, as this vendor completed its parts.
    static func vendor(on channel: any Channel, signer: ReportSigner?, session: SessionStart, result: ValidationResult,
                       modelName: String, pool: PoolOpening? = nil) throws -> SignedReport {
        let offer = try SessionMessage.receiveStatement(on: channel)
        func refuse(_ reason: String) throws -> Never {
            try SessionMessage.send(.countersignature(.init(signed: false, reason: reason)), on: channel)
            throw ValidationError.reportNotSigned(reason)
        }
        guard let signer else { try refuse("this vendor has no signing identity") }
        guard let theirs = ValidationStatement.parse(offer.statement) else {
            try refuse("the hospital's statement is not a '\(ValidationStatement.currentFormat)' statement: not signing")
        }
        guard let date = theirs.signedAt else {
            try refuse("the hospital's statement is dated '\(theirs.date)', not a UTC time in ISO 8601 to the second: not signing")
        }
        let now = signer.clock()
        let skew = date.timeIntervalSince(now)
        guard abs(skew) <= ValidationStatement.maximumClockSkew else {
            try refuse(String(format: "the hospital's statement is dated %@, %.0f minutes %@ the vendor's clock (%@); at most %.0f minutes are allowed: check both machines' clocks",
                              theirs.date, abs(skew) / 60, skew > 0 ? "ahead of" : "behind", ValidationStatement.format(now),
                              ValidationStatement.maximumClockSkew / 60))
        }
        let ours = ValidationStatement(session: session, result: result, modelName: modelName, date: date,
                                       vendorCertificate: signer.ownFingerprint, hospitalCertificate: signer.peerCertificate.fingerprint,
                                       pool: pool)
        let text = ours.canonicalText
        guard text == offer.statement else {
            let fields = ours.differences(from: theirs)
            try refuse("the hospital's statement differs from the vendor's view of the session in \(fields.isEmpty ? "its encoding" : fields.joined(separator: ", ")): not signing")
        }
        guard let hospital = signer.peerEntry(algorithm: offer.algorithm, signature: offer.signature, over: text) else {
            try refuse("the hospital's signature does not verify with the certificate it presented in TLS (\(signer.peerCertificate.fingerprint.prefix(16))…): not signing")
        }
        let own: SignedReport.PartySignature
        do { own = try signer.sign(text) } catch {
            try refuse("the vendor could not sign: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
        }
        try SessionMessage.send(.countersignature(.init(signed: true, reason: "signed", algorithm: own.algorithm, signature: own.signature)),
                                on: channel)
        return SignedReport(statementText: text, statement: ours, vendor: own, hospital: hospital)
    }
}
