#include "contracts/card.h"

#include "base/json.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace triad::contracts {
namespace {

PartyCard MakeCard() {
  return PartyCard{"acme-bank", Role::kDataOwner, crypto::age::X25519Identity::Generate().recipient(),
                   crypto::Ed25519PrivateKey::Generate().public_key()};
}

std::string Mutate(const std::string& json, const std::string& key, const nlohmann::json& value) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(json);
  if (value.is_null()) {
    j.erase(key);
  } else {
    j[key] = value;
  }
  return j.dump();
}

TEST(CardTest, RoundTrip) {
  PartyCard card = MakeCard();
  auto parsed = PartyCard::FromJson(card.ToJson());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->name, "acme-bank");
  EXPECT_EQ(parsed->role, Role::kDataOwner);
  EXPECT_EQ(parsed->signing_key, card.signing_key);
  EXPECT_EQ(parsed->age_recipient, card.age_recipient);
  EXPECT_EQ(parsed->ToJson(), card.ToJson());
}

TEST(CardTest, EachRuleHasItsReason) {
  std::string good = MakeCard().ToJson();
  EXPECT_EQ(PartyCard::FromJson(Mutate(good, "extra", 1)).status().message(),
            "party card: unknown field \"extra\"");
  EXPECT_EQ(PartyCard::FromJson(Mutate(good, "type", "triad.card/v2")).status().message(),
            "party card: type must be \"triad.card/v1\"");
  EXPECT_EQ(PartyCard::FromJson(Mutate(good, "name", "bad name")).status().message(),
            "party card: name may hold only letters, digits, '.', '_' and '-'");
  EXPECT_EQ(PartyCard::FromJson(Mutate(good, "role", "owner")).status().message(),
            "party card: unknown role \"owner\" (expected model-owner, data-owner, compute-provider or "
            "auditor)");
  std::string recipient = nlohmann::json::parse(good)["age_recipient"];
  recipient[10] = recipient[10] == 'q' ? 'p' : 'q';
  EXPECT_EQ(PartyCard::FromJson(Mutate(good, "age_recipient", recipient)).status().message(),
            "party card: age recipient: bech32: bad checksum");
  EXPECT_EQ(PartyCard::FromJson(Mutate(good, "fingerprint", std::string(64, '0'))).status().message(),
            "party card: fingerprint does not match ed25519_public_key");
  EXPECT_EQ(PartyCard::FromJson(Mutate(good, "ed25519_public_key", "AAAA")).status().message(),
            "party card: Ed25519 public key must be 32 bytes, got 3");
  EXPECT_EQ(PartyCard::FromJson(Mutate(good, "name", nullptr)).status().message(),
            "party card: missing \"name\"");
  EXPECT_EQ(PartyCard::FromJson(Mutate(good, "name", 5)).status().message(),
            "party card: \"name\" must be a string");
}

}  // namespace
}  // namespace triad::contracts
