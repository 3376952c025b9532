//! The business types (`cmd`) of the spec, one enum variant each.
//!
//! Pospal keeps adding types and pushes all of them to every consumer (spec 1.6.2), so a
//! `cmd` the table does not know decodes as [`Cmd::Unknown`] with its text, never as an
//! error. The families with several actions (`productOrder.*`, `stockFlow.*`) nest an enum so
//! code that treats the family alike matches once. Surrounding whitespace is trimmed: the
//! spec's own `stockTaking.new` example sends `" stockTaking.new"`.

use super::codes::PospalError;
use super::limits::CMD_CHARS_MAX;

/// An online order action (`productOrder.*`, spec 2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProductOrderCmd {
    /// `productOrder.createProductOrder`.
    Create,
    /// `productOrder.updateProductOrder`.
    Update,
    /// `productOrder.completePay`.
    CompletePay,
}

/// A stock flow action (`stockFlow.*`, spec 2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StockFlowCmd {
    /// `stockFlow.createStockFlowIn`: purchase order created.
    CreateIn,
    /// `stockFlow.editStockFlowIn`: purchase order edited.
    EditIn,
    /// `stockFlow.confirmStockFlowIn`: purchase received.
    ConfirmIn,
    /// `stockFlow.refuseStockFlowIn`: purchase refused.
    RefuseIn,
    /// `stockFlow.createStockFlowNormalReturn`: ordinary outbound created.
    CreateNormalReturn,
    /// `stockFlow.createStockFlowReturnToSupplier`: return to supplier created.
    CreateReturnToSupplier,
    /// `stockFlow.createStockFlowTransfer`: transfer created.
    CreateTransfer,
    /// `stockFlow.refuseStockFlowTransferOut`: transfer shipment refused.
    RefuseTransferOut,
    /// `stockFlow.confirmStockFlowTransferOut`: transfer shipped.
    ConfirmTransferOut,
    /// `stockFlow.refuseStockFlowTransferIn`: transfer receipt refused.
    RefuseTransferIn,
    /// `stockFlow.confirmStockFlowTransferIn`: transfer received.
    ConfirmTransferIn,
}

/// A notification's business type (`cmd`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cmd {
    /// `ticket.new`: a sale or refund ticket (2.1.1).
    TicketNew,
    /// `ticket.reverse`: a ticket reversed (反结账, 2.1.2).
    TicketReverse,
    /// `customer.new`: a member created (2.2.1).
    CustomerNew,
    /// `customer.recharge`: a member's stored value recharged (2.2.2).
    CustomerRecharge,
    /// `couponCode.use`: a coupon code redeemed (2.3.1).
    CouponCodeUse,
    /// `stockTaking.new`: a stock taking created (2.4.1).
    StockTakingNew,
    /// `product.edit`: products changed (2.5.1).
    ProductEdit,
    /// `productOrder.*` (2.6).
    ProductOrder(ProductOrderCmd),
    /// `stockFlow.*` (2.7).
    StockFlow(StockFlowCmd),
    /// `productRequest.new`: a product request created (2.8).
    ProductRequestNew,
    /// Any other `cmd`, as sent (trimmed).
    Unknown(String),
}

impl Cmd {
    /// Every `cmd` of the spec (not `Unknown`), in the spec's order.
    pub const KNOWN: &'static [Cmd] = &[
        Cmd::TicketNew,
        Cmd::TicketReverse,
        Cmd::CustomerNew,
        Cmd::CustomerRecharge,
        Cmd::CouponCodeUse,
        Cmd::StockTakingNew,
        Cmd::ProductEdit,
        Cmd::ProductOrder(ProductOrderCmd::Create),
        Cmd::ProductOrder(ProductOrderCmd::Update),
        Cmd::ProductOrder(ProductOrderCmd::CompletePay),
        Cmd::StockFlow(StockFlowCmd::CreateIn),
        Cmd::StockFlow(StockFlowCmd::EditIn),
        Cmd::StockFlow(StockFlowCmd::ConfirmIn),
        Cmd::StockFlow(StockFlowCmd::RefuseIn),
        Cmd::StockFlow(StockFlowCmd::CreateNormalReturn),
        Cmd::StockFlow(StockFlowCmd::CreateReturnToSupplier),
        Cmd::StockFlow(StockFlowCmd::CreateTransfer),
        Cmd::StockFlow(StockFlowCmd::RefuseTransferOut),
        Cmd::StockFlow(StockFlowCmd::ConfirmTransferOut),
        Cmd::StockFlow(StockFlowCmd::RefuseTransferIn),
        Cmd::StockFlow(StockFlowCmd::ConfirmTransferIn),
        Cmd::ProductRequestNew,
    ];

    /// Reads a `cmd`: trimmed, non-empty, at most [`CMD_CHARS_MAX`] characters, no control
    /// characters. Unknown names become [`Cmd::Unknown`].
    pub fn parse(text: &str) -> Result<Cmd, PospalError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PospalError::Missing("cmd"));
        }
        if text.chars().count() > CMD_CHARS_MAX || text.chars().any(char::is_control) {
            return Err(PospalError::Invalid {
                field: "cmd",
                reason: "too long or contains a control character",
            });
        }
        Ok(Cmd::KNOWN
            .iter()
            .find(|cmd| cmd.as_str() == text)
            .cloned()
            .unwrap_or_else(|| Cmd::Unknown(text.to_owned())))
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        use ProductOrderCmd as P;
        use StockFlowCmd as S;
        match self {
            Cmd::TicketNew => "ticket.new",
            Cmd::TicketReverse => "ticket.reverse",
            Cmd::CustomerNew => "customer.new",
            Cmd::CustomerRecharge => "customer.recharge",
            Cmd::CouponCodeUse => "couponCode.use",
            Cmd::StockTakingNew => "stockTaking.new",
            Cmd::ProductEdit => "product.edit",
            Cmd::ProductOrder(P::Create) => "productOrder.createProductOrder",
            Cmd::ProductOrder(P::Update) => "productOrder.updateProductOrder",
            Cmd::ProductOrder(P::CompletePay) => "productOrder.completePay",
            Cmd::StockFlow(S::CreateIn) => "stockFlow.createStockFlowIn",
            Cmd::StockFlow(S::EditIn) => "stockFlow.editStockFlowIn",
            Cmd::StockFlow(S::ConfirmIn) => "stockFlow.confirmStockFlowIn",
            Cmd::StockFlow(S::RefuseIn) => "stockFlow.refuseStockFlowIn",
            Cmd::StockFlow(S::CreateNormalReturn) => "stockFlow.createStockFlowNormalReturn",
            Cmd::StockFlow(S::CreateReturnToSupplier) => {
                "stockFlow.createStockFlowReturnToSupplier"
            }
            Cmd::StockFlow(S::CreateTransfer) => "stockFlow.createStockFlowTransfer",
            Cmd::StockFlow(S::RefuseTransferOut) => "stockFlow.refuseStockFlowTransferOut",
            Cmd::StockFlow(S::ConfirmTransferOut) => "stockFlow.confirmStockFlowTransferOut",
            Cmd::StockFlow(S::RefuseTransferIn) => "stockFlow.refuseStockFlowTransferIn",
            Cmd::StockFlow(S::ConfirmTransferIn) => "stockFlow.confirmStockFlowTransferIn",
            Cmd::ProductRequestNew => "productRequest.new",
            Cmd::Unknown(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn known_cmds_round_trip_without_duplicates() {
        let mut seen = HashSet::new();
        for cmd in Cmd::KNOWN {
            assert!(seen.insert(cmd.as_str()), "duplicate {}", cmd.as_str());
            assert_eq!(&Cmd::parse(cmd.as_str()).unwrap(), cmd);
            assert!(cmd.as_str().chars().count() <= CMD_CHARS_MAX);
        }
        assert_eq!(seen.len(), 22);
    }

    #[test]
    fn trims_and_keeps_unknown() {
        assert_eq!(Cmd::parse(" stockTaking.new").unwrap(), Cmd::StockTakingNew);
        assert_eq!(
            Cmd::parse("member.delete").unwrap(),
            Cmd::Unknown("member.delete".into())
        );
        assert_eq!(Cmd::parse("TICKET.NEW").unwrap().as_str(), "TICKET.NEW");
        assert!(Cmd::parse("  ").is_err());
        assert!(Cmd::parse(&"x".repeat(65)).is_err());
        assert!(Cmd::parse("a\nb").is_err());
    }
}
