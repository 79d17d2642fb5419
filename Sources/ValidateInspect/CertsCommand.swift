import ArgumentParser
import Foundation
import Transport

/// `validate-inspect certs DIR`: a throwaway CA plus vendor and hospital certificates and keys
/// (PEM), so that the demo and the tests need no manual OpenSSL step. Never for production.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Create a throwaway CA and vendor and hospital TLS certificates with their keys (PEM).",
        discussion: """
            Writes ca.crt, vendor.crt, vendor.key, hospital.crt and hospital.key into DIRECTORY \
            (created if missing): EC P-256 keys, X.509 v3, the vendor's certificate for TLS servers, \
            the hospital's for TLS clients, both valid for localhost and 127.0.0.1 (add the vendor's \
            other names with --name: the hospital checks that the vendor's certificate names the host \
            it connects to). Private keys are \
            written with mode 0600. Give the vendor ca.crt, vendor.crt and vendor.key, and the \
            hospital ca.crt, hospital.crt and hospital.key. For demos and tests only: a real \
            deployment uses certificates from the parties' own PKI.

            All five certificates share one validity period: by default from five minutes ago (for \
            clock skew between the parties) to --days days from now. With --valid-from DATE they are \
            valid from midnight UTC of DATE for --days days, so a past date makes certificates that \
            have already expired (e.g. --valid-from 2020-01-01 --days 1, to test that expired \
            certificates are refused) and a future date certificates that are not valid yet.
            """)

    @Argument(help: "The directory to write the five PEM files into (created if missing).")
    var directory: String

    @Option(name: .customLong("name"),
            help: ArgumentHelp("A host name or IP address the vendor's certificate must also carry, besides localhost and 127.0.0.1 (repeat for several). The hospital refuses a vendor whose certificate does not name the host it connects to.",
                               valueName: "host"))
    var names: [String] = []

    @Option(name: .customLong("site"),
            help: ArgumentHelp("Also write SITE.crt and SITE.key: a hospital certificate for one site of a pooled validation (CN = SITE), which also serves the other sites as the pool's aggregator (validate-client pool-collect), valid for localhost and 127.0.0.1. Repeat for several sites.",
                               valueName: "site"))
    var sites: [String] = []

    @Flag(help: "Overwrite existing files instead of refusing.")
    var force = false

    @Option(help: "How many days the certificates stay valid (1…3650).")
    var days = 30

    @Option(name: .customLong("valid-from"),
            help: ArgumentHelp("The first day of validity, YYYY-MM-DD (UTC, from midnight; 1970-01-01 or later). Default: five minutes ago.",
                               valueName: "date"))
    var validFrom: String?

    func validate() throws {
        for name in names where !CertificateAuthority.isNameOrAddress(name) {
            throw ValidationError("--name must be a host name (letters, digits, '-', '.') or an IP address, not '\(name)'.")
        }
        for site in sites where !(site.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") } && !site.isEmpty && site.count <= 64) {
            throw ValidationError("--site must be 1–64 letters, digits, '-' or '_' (it names the files SITE.crt and SITE.key), not '\(site)'.")
        }
        if let clash = sites.first(where: { ["ca", "vendor", "hospital"].contains($0) }) {
            throw ValidationError("--site \(clash) would overwrite \(clash).crt, one of the five standard files; choose another name.")
        }
        guard (1...3650).contains(days) else {
            throw ValidationError("--days must be between 1 and 3650, not \(days).")
        }
        if let validFrom {
            guard let start = Self.parseDay(validFrom) else {
                throw ValidationError("--valid-from must be a date YYYY-MM-DD (UTC), 1970-01-01 or later, not '\(validFrom)'.")
            }
            // X.509 times end with the year 9999.
            guard start.addingTimeInterval(Double(days) * 86400) <= Self.parseDay("9999-12-31")! else {
                throw ValidationError("--valid-from \(validFrom) with --days \(days) ends after 9999-12-31, the last date a certificate can hold.")
            }
        }
    }

    /// Midnight UTC of a `YYYY-MM-DD` day, or nil when the text is not exactly such a date (four,
    /// two and two digits) or names a day that does not exist (2021-02-29, 2020-13-01).
    static func parseDay(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              year >= 1970 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        guard let date = calendar.date(from: components) else { return nil }
        // Calendar rolls 2021-02-29 over to March 1st: only a day that round-trips exists.
        let back = calendar.dateComponents([.year, .month, .day], from: date)
        guard back.year == year, back.month == month, back.day == day else { return nil }
        return date
    }

    func run() throws {
        let notBefore = validFrom.flatMap(Self.parseDay)
        let files = try CertificateAuthority.writeTestCertificates(to: directory, days: days, notBefore: notBefore, vendorNames: names, sites: sites, overwrite: force)
        let period = "\(days) day\(days == 1 ? "" : "s")"
        if let notBefore, let validFrom {
            let notAfter = notBefore.addingTimeInterval(Double(days) * 86400)
            let now = Date()
            let state = notAfter <= now ? " (already expired)" : notBefore > now ? " (not valid yet)" : ""
            print("Wrote a throwaway CA and certificates valid for \(period) from \(validFrom) 00:00 UTC\(state):")
        } else {
            print("Wrote a throwaway CA and certificates valid for \(period):")
        }
        for path in files.all { print("  \(path)") }
        for site in sites {
            print("  \((directory as NSString).appendingPathComponent("\(site).crt")) and .key (site \(site): pool parts, pool-send, and pool-collect as the aggregator)")
        }
        print("Vendor: ca.crt, vendor.crt, vendor.key. Hospital: ca.crt, hospital.crt, hospital.key.")
        let vendor = try TLSIdentity(certificate: files.vendorCertificate, key: files.vendorKey, ca: files.ca)
        print("The vendor's certificate names \((CertificateAuthority.localNames + names.filter { !CertificateAuthority.localNames.contains($0) }).joined(separator: ", ")); SHA-256 \(vendor.certificateFingerprint ?? "?") (for validate-client --expect-vendor).")
    }
}
