import Foundation
import Transport

/// The hospital's side of `SessionMessage.CheckingProgress`: fed with the progress of the check of
/// its whole test set (`Dataset.validate(progress:)`), it sends a `checking` message whenever
/// `interval` seconds have passed since the announcement arrived or since the last one, so that
/// the vendor, which waits at most its timeout for each message, keeps waiting while a large image
/// folder is decoded and preprocessed.
///
/// Holds nothing secret: it sends how many images have been checked and how many there are.
/// Not thread-safe: the check calls it on the session's thread, the only user of the channel then.
public final class CheckingBeacon {
    private let channel: any Channel
    private let interval: Double
    private var lastSent: Date
    private var lastChecked = 0
    /// How many `checking` messages went out.
    public private(set) var sent = 0

    /// `interval` nil: never send (the check is known to be quick, or the peer predates the message).
    public init(channel: any Channel, interval: Double? = SessionMessage.CheckingProgress.interval) {
        self.channel = channel
        self.interval = interval ?? .infinity
        lastSent = Date()
    }

    /// Called after each part of the check; sends when the interval has passed and the count moved.
    public func update(checked: Int, of images: Int) throws {
        guard checked > lastChecked, checked < images, Date().timeIntervalSince(lastSent) >= interval else { return }
        try SessionMessage.send(.checking(.init(checked: checked, images: images)), on: channel)
        lastSent = Date()
        lastChecked = checked
        sent += 1
    }
}

/// The vendor's side of `SessionMessage.CheckingProgress`: the messages must count up within one
/// fixed total, and the request that follows must name that total, or the session ends as a
/// protocol violation. This bounds how long a hospital can hold the vendor before asking
/// (at most one timeout per image).
public struct CheckingWatch: Sendable {
    public private(set) var last: SessionMessage.CheckingProgress?

    public init() {}

    public mutating func accept(_ progress: SessionMessage.CheckingProgress) throws {
        guard progress.images > 0, progress.checked > 0, progress.checked <= progress.images else {
            throw TransportError.protocolViolation("the hospital reported checking \(progress.checked) of \(progress.images) images")
        }
        if let last {
            guard progress.images == last.images else {
                throw TransportError.protocolViolation("the hospital's check progress changed its total from \(last.images) to \(progress.images) images")
            }
            guard progress.checked > last.checked else {
                throw TransportError.protocolViolation("the hospital's check progress went from \(last.checked) to \(progress.checked) images instead of forward")
            }
        }
        last = progress
    }

    /// The request after the check must name as many images as the check counted.
    public func confirm(requestImages images: Int) throws {
        if let last, last.images != images {
            throw TransportError.protocolViolation("the hospital checked a test set of \(last.images) images but its request names \(images)")
        }
    }
}

extension SessionMessage {
    /// The vendor's wait for the hospital's answer to the announcement: a `request` or an `abort`,
    /// after any number of `checking` messages (each reported to `checking(checked, images)` and
    /// checked by `CheckingWatch`). Each message must arrive within the channel's timeout.
    public static func receiveRequest(on channel: any Channel,
                                      checking: ((_ checked: Int, _ images: Int) -> Void)? = nil) throws -> SessionMessage {
        var watch = CheckingWatch()
        while true {
            let message = try receive(on: channel, expecting: [.request, .abort, .checking])
            switch message {
            case .checking(let progress):
                try watch.accept(progress)
                checking?(progress.checked, progress.images)
            case .request(let request):
                try watch.confirm(requestImages: request.images)
                return message
            default:
                return message
            }
        }
    }
}
