import Foundation

/// `report.html`: a self-contained, printable (A4) rendering of a signed report — what was
/// validated, the result, what each party learned, the commitments and certificates, the
/// parameters, and how to verify it.
///
/// Contract: one file with inline CSS, no script, no external resource (it opens offline and
/// prints as it shows); every value from the report is HTML-escaped. It is a rendering: it says
/// so, and that `report.json` is what is signed.
enum ReportHTML {
    static func render(_ report: SignedReport) -> String {
        let s = report.statement
        let predictions = s.opened.metric == "predictions"
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>Secure validation report: \(e(s.modelName)), \(e(s.metricAsked)), \(e(s.date))</title>
            <style>
            @page { size: A4; margin: 16mm 15mm; }
            body { font: 10.5pt/1.4 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111; max-width: 180mm; margin: 1em auto; }
            h1 { font-size: 17pt; margin: 0 0 .2em; }
            h2 { font-size: 12.5pt; margin: 1.2em 0 .4em; border-bottom: 1px solid #999; padding-bottom: .1em; page-break-after: avoid; }
            table { border-collapse: collapse; width: 100%; page-break-inside: avoid; }
            th, td { text-align: left; vertical-align: top; padding: .25em .5em; border: 1px solid #ccc; }
            th { width: 32%; background: #f3f3f3; font-weight: 600; }
            code, pre, .hash { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8.5pt; }
            .hash { word-break: break-all; }
            pre { white-space: pre-wrap; word-break: break-all; background: #f7f7f7; border: 1px solid #ddd; padding: .5em; }
            .result { font-size: 12pt; font-weight: 600; background: #eef6ee; border-color: #9c9; }
            .notice { border: 1px solid #c96; background: #fff8ee; padding: .5em .7em; }
            .small { font-size: 9pt; color: #333; }
            section { page-break-inside: avoid; }
            </style>
            </head>
            <body>
            <h1>Secure validation report</h1>
            <p class="small">\(e(s.software)) · statement format \(e(s.format)) · signed \(e(s.date))</p>
            <p class="notice">This page is a rendering of <code>report.json</code>. What the vendor and the hospital signed is the
            statement inside <code>report.json</code>, byte for byte; this page is not signed. Before relying on it, verify the
            report (see “How to verify” below).</p>

            <section>
            <h2>What was validated</h2>
            <table>
            \(row("Model", e(s.modelName)))
            \(row("Model commitment", hash(s.modelCommitment)))
            \(row("Test set", s.pool.map { "\(s.images) images (N) in the \($0.parts.count) parts of pool \(e($0.name)), each held by the site that ran it (parts below)" }
                ?? "\(s.images) images (N), held by the hospital"))
            \(row(s.pool == nil ? "Test set commitment" : "Pool commitment", hash(s.datasetCommitment)))
            \(row("Secure program digest", hash(s.programDigest)))
            \(row("Metric asked", e(s.metricAsked)))
            \(row("Session", hash(s.sessionID)))
            """
        if let resumes = s.resumes { html += "\n" + row("Resumes validation", hash(resumes)) }
        if let pool = s.pool {
            html += "\n" + row("Pool", e(pool.name) + "<br><span class=\"small\">the parts' statistics, each secret-shared between the vendor and the part's site, were added and only their sum's metric opened, with the pool's aggregator (the hospital below)</span>")
            html += "\n" + row("Parts", "<table>" + pool.parts.map { part in
                "<tr><td>part \(part.part)</td><td>\(part.images) images</td><td>validation \(hash(part.validation))</td></tr>"
            }.joined() + "</table>")
        }
        html += """

            \(row("Date (UTC)", e(s.date)))
            </table>
            </section>

            <section>
            <h2>The result</h2>
            <pre class="result">\(e(s.opened.summaryLines.joined(separator: "\n")))</pre>
            <p class="small">Opened to \(e(s.opened.openedTo)), once, at the end of the secure two-party computation.\(s.opened.dpEpsilon.map { " With ε = \(e(String($0))) differential privacy: the opened values carry both parties' noise." } ?? "")</p>
            </section>

            <section>
            <h2>What each party learned</h2>
            <table>
            \(row("The vendor (model owner)", s.pool != nil
                ? "Only the opened pooled metric above and each part's number of images; never an image, a label, a prediction, a per-image result or a part's own result."
                : predictions
                ? "Only the number of test images (N = \(s.images)). The predictions were opened to the hospital only."
                : "Only the opened metric above and the number of test images (N = \(s.images)); never an image, a label, a prediction or a per-image result."))
            \(row(s.pool != nil ? "The hospital (the pool's aggregator)" : "The hospital (test-set owner)", s.pool != nil
                ? "The opened pooled metric above, each part's number of images, and the model's architecture and fixed-point parameters — not its weights, nor any part's own result (a part's share alone is uniformly random)."
                : predictions
                ? "Every image's scores (opened to the hospital only; none are in this report), and the model's architecture (operation types and shapes) and fixed-point parameters — not its weights."
                : "The opened metric above, and the model's architecture (operation types and shapes) and fixed-point parameters — not its weights."))
            \(row("Both", "The commitments, the program digest, the parameters below, and each other's certificate."))
            </table>
            </section>

            <section>
            <h2>Commitments and certificates</h2>
            <table>
            \(row("Model commitment", hash(s.modelCommitment) + "<br><span class=\"small\">salted SHA-256 of the compiled secure program and its fixed-point weights; the vendor keeps the salt</span>"))
            \(s.pool == nil
                ? row("Test set commitment", hash(s.datasetCommitment) + "<br><span class=\"small\">salted SHA-256 of the test set (its arrays, or for an image folder every file's name, labels and bytes); the hospital keeps the salt</span>")
                : row("Pool commitment", hash(s.datasetCommitment) + "<br><span class=\"small\">SHA-256 over the parts' test-set commitments in part order (each a salted SHA-256 of that site's test set; each site keeps its salt)</span>"))
            \(row("Vendor certificate (SHA-256)", hash(s.vendorCertificate) + "<br><span class=\"small\">signature: \(e(report.vendor.algorithm))</span>"))
            \(row("Hospital certificate (SHA-256)", hash(s.hospitalCertificate) + "<br><span class=\"small\">signature: \(e(report.hospital.algorithm))</span>"))
            </table>
            <p class="small">A commitment binds its owner to one model or test set without revealing it: shown the data and
            the salt, an auditor recomputes it with <code>validate-inspect hash PATH --salt SALT</code>.</p>
            </section>

            <section>
            <h2>Parameters</h2>
            <table>
            \(row("Ring width ℓ", "\(s.parameters.ringBits) bits"))
            \(row("Fixed-point scale s", "\(s.parameters.scale) bits"))
            \(row("Oblivious-transfer engine", e(s.parameters.otEngine)))
            \(row("Images per batch", "\(s.parameters.batch)"))
            \(row("Software", e(s.software)))
            </table>
            </section>

            <section>
            <h2>How to verify</h2>
            <p>With the CA certificate(s) the parties' TLS certificates come from:</p>
            <pre>validate-inspect verify-report DIR --ca ca.crt</pre>
            <p class="small">(DIR is the folder holding <code>report.json</code>; give <code>--ca</code> twice when the vendor and the
            hospital use different CAs.) It checks that both signatures verify over the exact statement, that each
            certificate is the one the statement names for its role, chains to a given CA, was valid on the statement's date
            and is meant for its role (the vendor's a TLS server certificate, the hospital's a TLS client one). Any change to
            the statement, a signature or a certificate makes it fail. A pass proves that the holders of these two
            certificates both signed this statement; it does not prove that the computation was run honestly (the protocol
            is secure against semi-honest parties) nor which data the commitments stand for until their owners open them.</p>
            <p class="small">Without SecureValidation, with OpenSSL (for ECDSA and RSA signatures): write the statement's text to
            <code>statement.txt</code> (the JSON string <code>statement</code>, decoded, no trailing newline), a signature
            (base64-decoded) to <code>vendor.sig</code>, the certificate to <code>vendor.crt</code>, then
            <code>openssl x509 -pubkey -noout -in vendor.crt &gt; vendor.pub</code> and
            <code>openssl dgst -sha256 -verify vendor.pub -signature vendor.sig statement.txt</code>.</p>
            </section>

            <section>
            <h2>The signed statement, verbatim</h2>
            <pre>\(e(report.statementText))</pre>
            </section>
            </body>
            </html>

            """
        return html
    }

    /// A table row; `value` is HTML already (escaped by the caller).
    private static func row(_ label: String, _ value: String) -> String {
        "<tr><th>\(e(label))</th><td>\(value)</td></tr>"
    }

    /// A hash in a monospace cell that wraps.
    private static func hash(_ text: String) -> String {
        "<span class=\"hash\">\(e(text))</span>"
    }

    /// HTML-escapes text for element content and attribute values.
    static func e(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
